import { HubError } from '../platform';

/**
 * The regions the policies cover, with what a simulation needs of them: the division code (行政区划)
 * of the insuring region and some of its counties (the first six digits of residents' ID numbers and
 * the certifying offices), a share of people in poverty categories, and the general critical-illness
 * deductible hospitals settle with. Kept here, not in the policy engine: it shapes synthetic data only.
 */
export interface Region {
  readonly id: string;
  readonly name: string;
  readonly division: string;
  readonly counties: readonly { readonly code: string; readonly name: string }[];
  /** Share of residents holding a poverty category (3–8 %, poorer regions higher). */
  readonly povertyShare: number;
  /** The general critical-illness deductible (大病保险起付线) in yuan, as hospitals settle it. */
  readonly criticalIllnessDeductibleYuan: number;
  /** Most residents of Tibet carry Tibetan names. */
  readonly tibetanNames?: boolean;
}

export const regions: Readonly<Record<string, Region>> = {
  wenzhou: {
    id: 'wenzhou',
    name: '温州市',
    division: '330300',
    povertyShare: 0.035,
    criticalIllnessDeductibleYuan: 23_500,
    counties: [
      { code: '330302', name: '鹿城区' },
      { code: '330303', name: '龙湾区' },
      { code: '330304', name: '瓯海区' },
      { code: '330305', name: '洞头区' },
      { code: '330324', name: '永嘉县' },
      { code: '330326', name: '平阳县' },
      { code: '330327', name: '苍南县' },
      { code: '330328', name: '文成县' },
      { code: '330329', name: '泰顺县' },
      { code: '330381', name: '瑞安市' },
      { code: '330382', name: '乐清市' },
    ],
  },
  jiangxi: {
    id: 'jiangxi',
    name: '江西省',
    division: '360000',
    povertyShare: 0.06,
    criticalIllnessDeductibleYuan: 17_000,
    counties: [
      { code: '360102', name: '南昌市东湖区' },
      { code: '360111', name: '南昌市青山湖区' },
      { code: '360203', name: '景德镇市珠山区' },
      { code: '360302', name: '萍乡市安源区' },
      { code: '360402', name: '九江市濂溪区' },
      { code: '360502', name: '新余市渝水区' },
      { code: '360602', name: '鹰潭市月湖区' },
      { code: '360702', name: '赣州市章贡区' },
      { code: '360802', name: '吉安市吉州区' },
      { code: '360902', name: '宜春市袁州区' },
      { code: '361002', name: '抚州市临川区' },
      { code: '361102', name: '上饶市信州区' },
    ],
  },
  tibet: {
    id: 'tibet',
    name: '西藏自治区',
    division: '540000',
    povertyShare: 0.08,
    criticalIllnessDeductibleYuan: 10_000,
    tibetanNames: true,
    counties: [
      { code: '540102', name: '拉萨市城关区' },
      { code: '540202', name: '日喀则市桑珠孜区' },
      { code: '540302', name: '昌都市卡若区' },
      { code: '540402', name: '林芝市巴宜区' },
      { code: '540502', name: '山南市乃东区' },
      { code: '540602', name: '那曲市色尼区' },
      { code: '542521', name: '阿里地区普兰县' },
    ],
  },
  xianyang: {
    id: 'xianyang',
    name: '咸阳市',
    division: '610400',
    povertyShare: 0.06,
    criticalIllnessDeductibleYuan: 10_000,
    counties: [
      { code: '610402', name: '秦都区' },
      { code: '610403', name: '杨陵区' },
      { code: '610404', name: '渭城区' },
      { code: '610422', name: '三原县' },
      { code: '610423', name: '泾阳县' },
      { code: '610424', name: '乾县' },
      { code: '610425', name: '礼泉县' },
      { code: '610481', name: '兴平市' },
      { code: '610482', name: '彬州市' },
    ],
  },
  'anhui-huangshan': {
    id: 'anhui-huangshan',
    name: '黄山市',
    division: '341000',
    povertyShare: 0.05,
    criticalIllnessDeductibleYuan: 15_000,
    counties: [
      { code: '341002', name: '屯溪区' },
      { code: '341003', name: '黄山区' },
      { code: '341004', name: '徽州区' },
      { code: '341021', name: '歙县' },
      { code: '341022', name: '休宁县' },
      { code: '341023', name: '黟县' },
      { code: '341024', name: '祁门县' },
    ],
  },
};

/**
 * A region by policy id (`wenzhou-2019`) or bare name (`wenzhou`). Only the name and the year are
 * read from the id; the policy file itself is the policy engine's business.
 */
export function regionOf(id: string): { region: Region; policyYear: number | undefined } {
  const match = /^(.*?)(?:-(\d{4}))?$/.exec(id.trim());
  const name = match?.[1] ?? '';
  const region = regions[name];
  if (region === undefined) {
    throw new HubError(
      'USAGE',
      `unknown region '${id}' (one of ${Object.keys(regions)
        .map((r) => r)
        .join(', ')}, optionally with the policy year, e.g. wenzhou-2019)`,
    );
  }
  return { region, policyYear: match?.[2] === undefined ? undefined : Number(match[2]) };
}
