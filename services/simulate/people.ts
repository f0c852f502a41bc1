import { checkCharacter } from '../identity';
import { Random } from './random';
import type { Region } from './regions';

/** A synthetic resident. The clear ID number lives only here and in the agency files written from it. */
export interface Person {
  readonly index: number;
  readonly idNumber: string;
  readonly name: string;
  readonly birthDate: string;
  readonly county: string;
  /** 人员编号 of the medical-security platform. */
  readonly psnNo: string;
  /** 险种类型: 310 employees (职工), 390 residents (城乡居民). */
  readonly insutype: '310' | '390';
  /** Age on 1 January of the simulated year. */
  readonly age: number;
}

const surnames =
  '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤';
const givenCharacters =
  '伟芳娜秀敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂英华玉萍红建文辉力斌宇浩凯健俊帆帅旭宁晨阳佳欣怡子涵梓轩雨婷春梅国庆海燕志强永胜德福淑珍玉兰秀英金凤';
const tibetanParts = [
  '扎西',
  '卓玛',
  '次仁',
  '旦增',
  '格桑',
  '央金',
  '平措',
  '德吉',
  '顿珠',
  '拉姆',
  '尼玛',
  '达瓦',
  '白玛',
  '索朗',
  '曲珍',
  '多吉',
  '普布',
  '益西',
];

/** Rough age pyramid of a Chinese prefecture: [first age, last age, weight]. */
const ageBands: readonly (readonly [number, number, number])[] = [
  [0, 6, 6],
  [7, 17, 11],
  [18, 29, 14],
  [30, 44, 20],
  [45, 59, 24],
  [60, 74, 18],
  [75, 95, 7],
];

function chineseName(random: Random, region: Region): string {
  if (region.tibetanNames === true && random.chance(0.85)) return `${random.pick(tibetanParts)}${random.pick(tibetanParts)}`;
  const surname = surnames.charAt(random.int(0, surnames.length - 1));
  const given = Array.from({ length: random.chance(0.7) ? 2 : 1 }, () =>
    givenCharacters.charAt(random.int(0, givenCharacters.length - 1)),
  ).join('');
  return surname + given;
}

const pad = (value: number, width: number): string => String(value).padStart(width, '0');

/** A valid GB 11643 number: county, birth date, sequence (odd for men, even for women), check character. */
export function nationalIdNumber(county: string, birthDate: string, sequence: number): string {
  const first17 = `${county}${birthDate.replace(/-/g, '')}${pad(sequence, 3)}`;
  return first17 + checkCharacter(first17);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** The region's residents, numbered from 0; the same seed gives the same people. */
export function generatePeople(count: number, region: Region, year: number, seed: string): Person[] {
  const people: Person[] = [];
  const taken = new Set<string>();
  const divisionPrefix = region.division.slice(0, 4);
  for (let index = 0; index < count; index += 1) {
    const random = new Random(seed, 'person', index);
    const [from, to] = random.weighted(ageBands.map((band) => [[band[0], band[1]] as const, band[2]] as const));
    const age = random.int(from, to);
    const birthYear = year - 1 - age;
    const month = random.int(1, 12);
    const birthDate = `${birthYear}-${pad(month, 2)}-${pad(random.int(1, daysInMonth(birthYear, month)), 2)}`;
    const county = random.pick(region.counties).code;
    let idNumber = nationalIdNumber(county, birthDate, random.int(0, 999));
    // Two people cannot share a number; another sequence number keeps the person otherwise unchanged.
    while (taken.has(idNumber)) idNumber = nationalIdNumber(county, birthDate, random.int(0, 999));
    taken.add(idNumber);
    const insutype = age >= 18 && age < 60 && random.chance(0.35) ? '310' : '390';
    people.push({
      index,
      idNumber,
      name: chineseName(random, region),
      birthDate,
      county,
      psnNo: `${divisionPrefix}${pad(index + 1, 12)}`,
      insutype,
      age,
    });
  }
  return people;
}
