// 预警台 page script. Plain JavaScript served by the desk itself (no CDN, no build step): the bureau's
// network reaches nothing outside. Every value from the API is put in the page as text, never as HTML.
'use strict';

const state = { session: null, meta: null };
const main = document.getElementById('main');

/** Creates an element; children are nodes or text. */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) el.addEventListener(name.slice(2), value);
    else if (name === 'class') el.className = value;
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) el.append(child instanceof Node ? child : String(child));
  return el;
}

/** Fen as yuan: integer arithmetic, two decimals, thousands separators. */
function yuan(fen) {
  const negative = fen < 0;
  const abs = Math.abs(Math.trunc(fen));
  const whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '-' : ''}${whole}.${String(abs % 100).padStart(2, '0')}`;
}
const count = (n) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const lbl = (table, code) => (state.meta && state.meta[table] && state.meta[table][code]) || code;

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function api(path, options = {}) {
  const headers = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if ((options.method || 'GET') !== 'GET' && state.session) headers['x-csrf-token'] = state.session.csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method: options.method || 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'NETWORK', '无法连接预警台服务器，请检查网络后刷新页面');
  }
  const body = await response.json().catch(() => ({}));
  if (response.status === 401 && path !== '/api/login') {
    // Only a session that existed can have expired; a first visit just gets the login form.
    const expired = state.session !== null;
    state.session = null;
    showLogin(expired ? '登录已过期，请重新登录' : undefined);
    throw new ApiError(401, 'AUTH_REQUIRED', '请重新登录');
  }
  if (!response.ok) throw new ApiError(response.status, body.error, body.message || `请求失败（${response.status}），请稍后重试`);
  return body;
}

function errorBox(error) {
  return h('div', { class: 'error', role: 'alert' }, error.message || String(error));
}
function render(...nodes) {
  main.replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
}

// ---- login ----
function showLogin(message) {
  document.getElementById('nav').hidden = true;
  document.getElementById('who').replaceChildren();
  const form = h(
    'form',
    { class: 'card login', id: 'login-form' },
    h('h2', {}, '用户登录'),
    message ? h('div', { class: 'error' }, message) : null,
    h('label', {}, '用户名', h('input', { name: 'username', autocomplete: 'username', required: true, maxlength: 64 })),
    h(
      'label',
      {},
      '密码',
      h('input', { name: 'password', type: 'password', autocomplete: 'current-password', required: true, maxlength: 256 }),
    ),
    h('button', { type: 'submit' }, '登录'),
    h('p', { class: 'hint' }, '账号由系统管理员开通；忘记密码请联系管理员。'),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    try {
      await api('/api/login', { method: 'POST', body: { username: data.get('username'), password: data.get('password') } });
      await start();
    } catch (error) {
      showLogin(error.message);
    }
  });
  render(form);
}

async function start() {
  try {
    state.session = await api('/api/session');
  } catch (error) {
    if (error.status !== 401) render(errorBox(error));
    return;
  }
  state.meta = await api('/api/meta');
  const nav = document.getElementById('nav');
  nav.hidden = false;
  for (const a of nav.querySelectorAll('a[data-need]')) a.hidden = !state.session.may[a.dataset.need];
  document.getElementById('who').replaceChildren(
    `${state.session.displayName}（${state.session.roleLabel}）`,
    h(
      'button',
      {
        class: 'secondary',
        onclick: async () => {
          await api('/api/logout', { method: 'POST' }).catch(() => null);
          state.session = null;
          showLogin();
        },
      },
      '退出',
    ),
  );
  route();
}

// ---- routing ----
function route() {
  if (!state.session) return;
  const [path, query] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query || '');
  const [, page, arg] = (path || '/overview').split('/');
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.page === page);
  const pages = {
    overview: showOverview,
    warnings: showWarnings,
    person: () => showPerson(decodeURIComponent(arg || '')),
    deliveries: showDeliveries,
    payments: showPayments,
    audit: showAudit,
  };
  (pages[page] || showOverview)(params).catch((error) => render(errorBox(error)));
}
window.addEventListener('hashchange', route);

function periodSelect(current, onchange) {
  const periods = state.meta.periods;
  return h(
    'select',
    { name: 'period', onchange },
    periods.map((p) => h('option', { value: p, selected: p === current }, p)),
  );
}
const noPeriods = () =>
  h('div', { class: 'empty' }, '还没有任何预警。预警由预警服务每季度生成；如本季度应有预警，请确认预警服务已运行，或稍后刷新。');

// ---- overview ----
async function showOverview(params) {
  if (state.meta.periods.length === 0) {
    state.meta = await api('/api/meta');
    if (state.meta.periods.length === 0) return render(h('h2', {}, '期间概览'), noPeriods());
  }
  const period = params.get('period') || state.meta.periods[0];
  const o = await api(`/api/overview?period=${encodeURIComponent(period)}`);
  const charts = [];
  const chartCard = (title, id, option) => {
    charts.push([id, option]);
    return h('div', { class: 'card' }, h('h2', {}, title), h('div', { class: 'chart', id }));
  };
  const bar = (rows, table) => ({
    tooltip: {},
    grid: { left: 130, right: 20, top: 10, bottom: 24 },
    xAxis: { type: 'value' },
    yAxis: { type: 'category', inverse: true, data: rows.map((r) => lbl(table, r.key)) },
    series: [{ type: 'bar', data: rows.map((r) => r.count), itemStyle: { color: '#0b4f8a' } }],
  });
  const owed = o.owed || [];
  render(
    h(
      'div',
      { class: 'filters card' },
      h(
        'label',
        {},
        '预警期',
        periodSelect(period, (e) => {
          location.hash = `#/overview?period=${e.target.value}`;
        }),
      ),
    ),
    h(
      'div',
      { class: 'kpis' },
      h('div', { class: 'kpi' }, '本期预警人数', h('b', { id: 'kpi-total' }, count(o.total))),
      h('div', { class: 'kpi' }, '本期个人自付合计（元）', h('b', {}, yuan(o.selfPayFen))),
      ...owed.map((f) => h('div', { class: 'kpi' }, `${lbl('funds', f.fund)} 待付（元）`, h('b', {}, yuan(f.owedFen)))),
    ),
    o.total === 0 ? h('div', { class: 'empty' }, '本期没有预警。') : null,
    h(
      'div',
      { class: 'grid' },
      chartCard('按地区', 'chart-region', bar(o.byRegion, 'regions')),
      chartCard('按身份类别', 'chart-category', bar(o.byCategory, 'categories')),
      chartCard('按转送部门', 'chart-agency', bar(o.byAgency, 'agencies')),
      chartCard('按预警原因', 'chart-reason', bar(o.byReason, 'reasons')),
      chartCard('各期预警人数趋势', 'chart-trend', {
        tooltip: { trigger: 'axis' },
        grid: { left: 60, right: 20, top: 20, bottom: 30 },
        xAxis: { type: 'category', data: o.trend.map((t) => t.period) },
        yAxis: { type: 'value' },
        series: [{ type: 'line', name: '预警人数', data: o.trend.map((t) => t.count), itemStyle: { color: '#0b4f8a' } }],
      }),
      owed.length > 0
        ? chartCard('应付款项（元）', 'chart-owed', {
            tooltip: { valueFormatter: (v) => yuan(Math.round(v * 100)) },
            legend: { top: 0 },
            grid: { left: 150, right: 30, top: 30, bottom: 24 },
            xAxis: { type: 'value' },
            yAxis: { type: 'category', data: owed.map((f) => lbl('funds', f.fund)) },
            series: [
              { type: 'bar', stack: 'a', name: '待付', data: owed.map((f) => f.owedFen / 100), itemStyle: { color: '#c45656' } },
              { type: 'bar', stack: 'a', name: '已付', data: owed.map((f) => f.paidFen / 100), itemStyle: { color: '#529b2e' } },
            ],
          })
        : chartCard('送达状态', 'chart-delivery', bar(o.byDelivery, 'delivery')),
    ),
  );
  for (const [id, option] of charts) {
    if (typeof echarts === 'undefined') {
      document.getElementById(id).textContent = '图表组件未能加载，请刷新页面。';
      continue;
    }
    echarts
      .init(document.getElementById(id), null, { renderer: 'canvas' })
      .setOption({ animation: false, textStyle: { fontFamily: 'sans-serif' }, ...option });
  }
}

// ---- warning list ----
const filterNames = ['period', 'policyId', 'category', 'agency', 'reason', 'deliveryStatus', 'followUpStatus', 'order'];
async function showWarnings(params) {
  if (state.meta.periods.length === 0) return render(h('h2', {}, '预警清单'), noPeriods());
  const filter = new URLSearchParams();
  for (const name of filterNames) if (params.get(name)) filter.set(name, params.get(name));
  if (!filter.get('period')) filter.set('period', state.meta.periods[0]);
  const after = params.get('after');
  const options = (table, name, all = '全部') =>
    h(
      'select',
      { name },
      h('option', { value: '' }, all),
      Object.entries(state.meta[table])
        .filter(([k]) => !(table === 'delivery' && k === 'DEAD') && !(table === 'categories' && k === 'NONE'))
        .map(([k, v]) => h('option', { value: k, selected: filter.get(name) === k }, v)),
    );
  const form = h(
    'form',
    { class: 'filters card', id: 'warning-filters' },
    h('label', {}, '预警期', periodSelect(filter.get('period'))),
    h('label', {}, '地区', options('regions', 'policyId')),
    h('label', {}, '身份类别', options('categories', 'category')),
    state.session.agency ? null : h('label', {}, '转送部门', options('agencies', 'agency')),
    h('label', {}, '预警原因', options('reasons', 'reason')),
    h('label', {}, '送达状态', options('delivery', 'deliveryStatus')),
    h('label', {}, '跟进状态', options('followUp', 'followUpStatus')),
    h(
      'label',
      {},
      '排序',
      h(
        'select',
        { name: 'order' },
        h('option', { value: 'desc' }, '个人自付从高到低'),
        h('option', { value: 'asc', selected: filter.get('order') === 'asc' }, '个人自付从低到高'),
      ),
    ),
    h('button', { type: 'submit' }, '查询'),
    h(
      'a',
      { href: `/api/warnings/export.xlsx?${filter}`, id: 'export-warnings', download: true },
      h('button', { type: 'button', class: 'secondary' }, '导出 Excel'),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) next.set(k, v);
    location.hash = `#/warnings?${next}`;
  });
  const query = new URLSearchParams(filter);
  query.set('limit', '50');
  if (after) query.set('after', after);
  let page;
  try {
    page = await api(`/api/warnings?${query}`);
  } catch (error) {
    return render(form, errorBox(error));
  }
  const table =
    page.rows.length === 0
      ? h('div', { class: 'empty' }, after ? '已是最后一页。' : '没有符合条件的预警。请放宽筛选条件，或选择其他预警期。')
      : h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { id: 'warning-table' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['人员标识', '地区', '身份类别', '预警原因', '统计区间'].map((t) => h('th', {}, t)),
                h('th', { class: 'num' }, '个人自付（元）'),
                h('th', { class: 'num' }, '阈值（元）'),
                h('th', {}, '转送部门'),
                h('th', {}, '送达'),
                h('th', {}, '跟进'),
              ),
            ),
            h(
              'tbody',
              {},
              page.rows.map((r) =>
                h(
                  'tr',
                  {},
                  h('td', {}, h('a', { class: 'key', href: `#/person/${encodeURIComponent(r.personKey)}` }, r.personKey.slice(0, 12))),
                  h('td', {}, lbl('regions', r.policyId)),
                  h(
                    'td',
                    {},
                    r.categories.map((c) => h('span', { class: 'tag' }, lbl('categories', c))),
                  ),
                  h('td', {}, r.reasons.map((c) => lbl('reasons', c)).join('、')),
                  h('td', {}, `${r.windowFrom} 至 ${r.windowTo}`),
                  h('td', { class: 'num' }, yuan(r.selfPayFen)),
                  h('td', { class: 'num' }, yuan(r.thresholdFen)),
                  h('td', {}, r.routedTo.map((a) => lbl('agencies', a)).join('、')),
                  h(
                    'td',
                    {},
                    h(
                      'span',
                      { class: `tag ${r.deliveryStatus === 'FAILED' ? 'bad' : r.deliveryStatus === 'ACKNOWLEDGED' ? 'ok' : ''}` },
                      lbl('delivery', r.deliveryStatus),
                    ),
                  ),
                  h(
                    'td',
                    { class: 'follow-up' },
                    r.outcomes.length === 0
                      ? lbl('followUp', r.followUpStatus)
                      : r.outcomes.map((o) =>
                          h('div', {}, `${r.outcomes.length > 1 ? `${lbl('agencies', o.agency)}：` : ''}${outcomeText(o)}`),
                        ),
                  ),
                ),
              ),
            ),
          ),
        );
  const pager = h(
    'div',
    { class: 'pager' },
    after ? h('button', { class: 'secondary', onclick: () => history.back() }, '上一页') : null,
    page.next
      ? h(
          'button',
          {
            id: 'next-page',
            onclick: () => {
              const q = new URLSearchParams(filter);
              q.set('after', page.next);
              location.hash = `#/warnings?${q}`;
            },
          },
          '下一页',
        )
      : null,
    h('span', { class: 'hint' }, `本页 ${page.rows.length} 条`),
  );
  render(form, h('div', { class: 'card' }, table, pager));
}

// ---- person ----
async function showPerson(personKey) {
  const t = await api(`/api/people/${encodeURIComponent(personKey)}/timeline`);
  const section = (title, headers, rows, empty) =>
    h(
      'div',
      { class: 'card' },
      h('h2', {}, title),
      rows.length === 0
        ? h('p', { class: 'hint' }, empty)
        : h(
            'div',
            { class: 'scroll' },
            h(
              'table',
              {},
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  headers.map(([text, num]) => h('th', { class: num ? 'num' : null }, text)),
                ),
              ),
              h('tbody', {}, rows),
            ),
          ),
    );
  const td = (text) => h('td', {}, text);
  const money = (fen) => h('td', { class: 'num' }, yuan(fen));
  const idCard = h('div', { class: 'card', id: 'clear-id-card' }, h('h2', {}, '身份证号'));
  if (state.session.may.clearId) {
    const reason = h('input', { name: 'reason', placeholder: '查看原因（必填，将记入审计日志）', size: 40, maxlength: 500 });
    const out = h('span', { class: 'clear-id', id: 'clear-id' }, '已加密，不显示');
    idCard.append(
      h(
        'div',
        { class: 'filters' },
        out,
        reason,
        h(
          'button',
          {
            id: 'show-clear-id',
            onclick: async () => {
              if (reason.value.trim().length < 4) {
                out.textContent = '请先填写查看原因（至少 4 个字）';
                return;
              }
              try {
                out.textContent = (
                  await api(`/api/people/${encodeURIComponent(personKey)}/clear-id`, {
                    method: 'POST',
                    body: { reason: reason.value.trim() },
                  })
                ).idNumber;
              } catch (error) {
                out.textContent = error.message;
              }
            },
          },
          '查看明文',
        ),
      ),
    );
  } else {
    idCard.append(h('p', { class: 'hint' }, '身份证号已加密。您的角色无权查看明文；如工作需要，请联系医保局分析员。'));
  }
  render(
    h(
      'div',
      { class: 'card' },
      h('h2', {}, '人员时间线'),
      h('p', {}, '人员标识：', h('span', { class: 'key', id: 'person-key' }, t.personKey)),
    ),
    idCard,
    section(
      '身份状态（来源部门与有效区间）',
      [['来源部门'], ['身份类别'], ['动作'], ['有效期起'], ['有效期止'], ['区划'], ['决定日期']],
      t.statuses.map((s) =>
        h(
          'tr',
          {},
          td(lbl('agencies', s.agency)),
          td(lbl('categories', s.category)),
          td(lbl('actions', s.action)),
          td(s.validFrom),
          td(s.validTo || '长期'),
          td(s.admdvs),
          td(s.decidedAt),
        ),
      ),
      '没有身份认定记录。',
    ),
    section(
      '结算（各基金支付）',
      [
        ['结算日期'],
        ['结算号'],
        ['定点机构'],
        ['医疗总费用（元）', 1],
        ['基本医保（元）', 1],
        ['大病保险（元）', 1],
        ['医疗救助（元）', 1],
        ['个人负担（元）', 1],
        ['类型'],
      ],
      t.settlements.map((s) =>
        h(
          'tr',
          {},
          td(s.settledOn),
          h('td', { class: 'key' }, s.setlId),
          td(s.fixmedinsCode),
          money(s.medfeeFen),
          money(s.basicFen),
          money(s.criticalIllnessFen),
          money(s.assistanceFen),
          money(s.selfPayFen),
          td(s.isReversal ? `冲销 ${s.origSetlId || ''}` : '结算'),
        ),
      ),
      '没有结算记录。',
    ),
    section(
      '年度个人自付（三重保障后）',
      [['年度'], ['结算次数', 1], ['医疗总费用（元）', 1], ['个人自付（元）', 1], ['政策范围内自付（元）', 1]],
      t.selfPay.map((y) =>
        h(
          'tr',
          {},
          td(y.benefitYear),
          h('td', { class: 'num' }, y.settlementCount),
          money(y.medfeeFen),
          money(y.selfPayTotalFen),
          money(y.selfPayInScopeFen),
        ),
      ),
      '没有自付汇总。',
    ),
    section(
      '补支付',
      [['年度'], ['结算号'], ['定点机构'], ['大病保险应补（元）', 1], ['医疗救助应补（元）', 1], ['适用类别'], ['原因']],
      t.adjustments
        .filter((a) => a.kind !== 'SETTLED_CORRECTLY')
        .map((a) =>
          h(
            'tr',
            {},
            td(a.benefitYear),
            h('td', { class: 'key' }, a.setlId),
            td(a.fixmedinsCode),
            money(a.owedCriticalIllnessFen),
            money(a.owedAssistanceFen),
            td(a.categoryApplied ? lbl('categories', a.categoryApplied) : '—'),
            td(a.reason),
          ),
        ),
      '没有补支付。',
    ),
    section(
      '参保资助更正',
      [['年度'], ['缴费记录'], ['类别'], ['应资助（元）', 1], ['已资助（元）', 1], ['差额（元）', 1], ['原因']],
      t.subsidyCorrections
        .filter((s) => s.kind !== 'CORRECT')
        .map((s) =>
          h(
            'tr',
            {},
            td(s.insuranceYear),
            h('td', { class: 'key' }, s.contributionRecordId),
            td(lbl('categories', s.category)),
            money(s.entitledFen),
            money(s.receivedFen),
            money(s.deltaFen),
            td(s.reason),
          ),
        ),
      '没有资助更正。',
    ),
    // Corrected and withdrawn warnings stay here as history; the list and the counts show only the latest word.
    section(
      '预警、送达与跟进',
      [['预警期'], ['状态'], ['预警原因'], ['个人自付（元）', 1], ['更正内容'], ['结算明细'], ['送达与跟进记录']],
      t.warnings.map((w) =>
        h(
          'tr',
          { class: `warning-${w.state.toLowerCase()}`, 'data-warning-id': w.warningId },
          td(w.period),
          h(
            'td',
            {},
            h(
              'span',
              { class: `tag warning-state ${w.state === 'CURRENT' ? 'ok' : w.state === 'WITHDRAWN' ? 'bad' : ''}` },
              lbl('warningStates', w.state),
            ),
          ),
          td(w.reasons.length === 0 ? '—' : w.reasons.map((r) => lbl('reasons', r)).join('、')),
          money(w.selfPayFen),
          td(w.changes.length === 0 ? '—' : w.changes.map((c) => h('div', {}, c))),
          td(
            w.settlements.length === 0
              ? '—'
              : w.settlements.map((s) =>
                  h('div', {}, `${s.settledAt} ${s.setlId} 总费用 ${yuan(s.medfeeFen)} 元，自付 ${yuan(s.selfPayFen)} 元`),
                ),
          ),
          td(
            w.deliveries.length === 0
              ? '尚无送达回执'
              : w.deliveries.map((d) =>
                  h(
                    'div',
                    {},
                    `${d.at} ${lbl('agencies', d.agency)} ${receiptLabel(d.status)}（第 ${d.attempt} 次）${d.outcome ? ` ${outcomeText(d)}` : ''}${d.detail ? `：${d.detail}` : ''}${d.agencyRecordId ? `（部门编号 ${d.agencyRecordId}）` : ''}`,
                  ),
                ),
          ),
        ),
      ),
      '没有预警。',
    ),
  );
}
/** An agency's answer in words, as the exports write it: 已救助（临时救助 1,234.56 元）, 已认定（因病致贫重病患者）, 无需处理（原因）. */
function outcomeText(o) {
  const name = lbl('outcomes', o.outcome);
  if (o.outcome === 'ASSISTANCE_GIVEN') {
    const what = [o.assistanceKind, o.assistanceFen === null || o.assistanceFen === undefined ? null : `${yuan(o.assistanceFen)} 元`]
      .filter((x) => x)
      .join(' ');
    return what === '' ? name : `${name}（${what}）`;
  }
  if (o.outcome === 'CERTIFIED' && o.certifiedCategory) return `${name}（${lbl('categories', o.certifiedCategory)}）`;
  if (o.outcome === 'NO_ACTION' && o.reason) return `${name}（${o.reason}）`;
  return name;
}
const receiptLabel = (s) =>
  ({ DELIVERED: '已送达', FAILED: '送达失败', ACKNOWLEDGED: '已签收', FOLLOW_UP_STARTED: '开始跟进', FOLLOW_UP_CLOSED: '跟进办结' })[s] ||
  s;

// ---- deliveries ----
async function showDeliveries() {
  const { rows, answers } = await api('/api/deliveries/failed');
  const body =
    rows.length === 0
      ? h('div', { class: 'empty' }, '没有送达失败的预警。各部门均已收到本系统推送的预警。')
      : h(
          'table',
          { id: 'delivery-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['预警期', '人员标识', '部门', '渠道', '尝试次数', '失败时间', '原因', '状态', ''].map((t) => h('th', {}, t)),
            ),
          ),
          h(
            'tbody',
            {},
            rows.map((r) =>
              h(
                'tr',
                {},
                h('td', {}, r.period),
                h('td', {}, h('a', { class: 'key', href: `#/person/${encodeURIComponent(r.personKey)}` }, r.personKey.slice(0, 12))),
                h('td', {}, lbl('agencies', r.agency)),
                h('td', {}, r.channel === 'WEBHOOK' ? '接口推送' : '文件交换'),
                h('td', { class: 'num' }, r.attempt),
                h('td', {}, r.failedAt),
                h('td', {}, r.detail || '—'),
                h(
                  'td',
                  {},
                  h('span', { class: 'tag bad' }, r.dead ? '已放弃（多次失败）' : '送达失败'),
                  r.retryRequestedAt
                    ? h(
                        'div',
                        { class: 'hint retry-outcome' },
                        `${r.retryRequestedAt} 重试：${lbl('retryOutcomes', r.retryOutcome || 'REQUESTED')}`,
                      )
                    : null,
                ),
                h(
                  'td',
                  {},
                  state.session.may.retry
                    ? h(
                        'button',
                        {
                          onclick: async (e) => {
                            e.target.disabled = true;
                            try {
                              await api('/api/deliveries/retry', { method: 'POST', body: { warningId: r.warningId, agency: r.agency } });
                              e.target.replaceWith(h('span', { class: 'tag ok retry-result' }, '已重新排队，将再次推送'));
                            } catch (error) {
                              e.target.replaceWith(h('span', { class: 'tag bad retry-result' }, error.message));
                            }
                          },
                        },
                        '重试',
                      )
                    : null,
                ),
              ),
            ),
          ),
        );
  const answered =
    (answers || []).length === 0
      ? h('p', { class: 'hint' }, '各部门尚未反馈处理结果。')
      : h(
          'table',
          { id: 'answer-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['部门', '处理结果', '预警数'].map((t) => h('th', {}, t)),
            ),
          ),
          h(
            'tbody',
            {},
            answers.map((a) =>
              h(
                'tr',
                {},
                h('td', {}, lbl('agencies', a.agency)),
                h('td', {}, lbl('outcomes', a.outcome)),
                h('td', { class: 'num' }, a.count),
              ),
            ),
          ),
        );
  render(
    h('div', { class: 'card' }, h('h2', {}, '送达失败与放弃的预警'), body),
    h('div', { class: 'card' }, h('h2', {}, '各部门反馈（本系统最新预警）'), answered),
  );
}

// ---- payments owed ----
async function showPayments(params) {
  const filter = new URLSearchParams();
  for (const name of ['fund', 'institution', 'year', 'state']) if (params.get(name)) filter.set(name, params.get(name));
  if (!params.has('state')) filter.set('state', 'OWED');
  const form = h(
    'form',
    { class: 'filters card' },
    h(
      'label',
      {},
      '付款方',
      h(
        'select',
        { name: 'fund' },
        h('option', { value: '' }, '全部'),
        Object.entries(state.meta.funds).map(([k, v]) => h('option', { value: k, selected: filter.get('fund') === k }, v)),
      ),
    ),
    h('label', {}, '定点机构编码', h('input', { name: 'institution', value: filter.get('institution') || '', size: 14 })),
    h('label', {}, '年度', h('input', { name: 'year', value: filter.get('year') || '', size: 6, inputmode: 'numeric', pattern: '\\d{4}' })),
    h(
      'label',
      {},
      '状态',
      h(
        'select',
        { name: 'state' },
        h('option', { value: 'OWED', selected: filter.get('state') === 'OWED' }, '待支付'),
        h('option', { value: 'PAID', selected: filter.get('state') === 'PAID' }, '已支付'),
      ),
    ),
    h('button', { type: 'submit' }, '查询'),
    h(
      'a',
      { href: `/api/payments/export.xlsx?${filter}`, download: true },
      h('button', { type: 'button', class: 'secondary' }, '导出付款方工作清单'),
    ),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (v) q.set(k, v);
    location.hash = `#/payments?${q}`;
  });
  const { rows } = await api(`/api/payments?${filter}`);
  const total = rows.reduce((sum, r) => sum + r.amountFen, 0);
  const checks = [];
  const table =
    rows.length === 0
      ? h('div', { class: 'empty' }, '没有符合条件的应付款项。')
      : h(
          'table',
          { id: 'payments-table' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, ''),
              ['付款方', '事项', '记录号', '地区', '年度', '定点机构'].map((t) => h('th', {}, t)),
              h('th', { class: 'num' }, '金额（元）'),
              h('th', {}, '原因'),
              h('th', {}, '状态'),
            ),
          ),
          h(
            'tbody',
            {},
            rows.map((r) => {
              const box = r.paid || !state.session.may.markPaid ? null : h('input', { type: 'checkbox' });
              if (box) checks.push([box, r]);
              return h(
                'tr',
                {},
                h('td', {}, box),
                h('td', {}, lbl('funds', r.fund)),
                h('td', {}, r.itemKind === 'ADJUSTMENT' ? '补支付' : '参保资助更正'),
                h('td', { class: 'key' }, r.itemId),
                h('td', {}, lbl('regions', r.policyId)),
                h('td', {}, r.year),
                h('td', {}, r.institution || '—'),
                h('td', { class: 'num' }, yuan(r.amountFen)),
                h('td', {}, r.reason),
                h('td', {}, r.paid ? `已支付 ${r.paidOn}` : '待支付'),
              );
            }),
          ),
        );
  const today = new Date().toLocaleDateString('sv-SE', { timeZone: 'Asia/Shanghai' });
  const paidOn = h('input', { type: 'date', value: today });
  const mark =
    state.session.may.markPaid && checks.length > 0
      ? h(
          'div',
          { class: 'pager' },
          '支付日期',
          paidOn,
          h(
            'button',
            {
              onclick: async () => {
                const items = checks
                  .filter(([box]) => box.checked)
                  .map(([, r]) => ({ itemKind: r.itemKind, itemId: r.itemId, fund: r.fund }));
                if (items.length === 0) return;
                try {
                  await api('/api/payments/mark-paid', { method: 'POST', body: { items, paidOn: paidOn.value } });
                  route();
                } catch (error) {
                  main.prepend(errorBox(error));
                }
              },
            },
            '标记所选为已支付',
          ),
        )
      : null;
  render(
    form,
    h(
      'div',
      { class: 'card' },
      h('p', {}, `共 ${count(rows.length)} 项，合计 ${yuan(total)} 元`),
      h('div', { class: 'scroll' }, table),
      mark,
    ),
  );
}

// ---- audit ----
async function showAudit() {
  const { rows } = await api('/api/audit');
  const actions = {
    VIEW_CLEAR_ID: '查看身份证号明文',
    MARK_PAID: '标记已支付',
    RETRY_DELIVERY: '重试送达',
    LOGIN: '登录',
    LOGIN_FAILED: '登录失败',
    EXPORT: '导出',
  };
  render(
    h(
      'div',
      { class: 'card' },
      h('h2', {}, '审计日志（只读，任何人不可修改）'),
      rows.length === 0
        ? h('div', { class: 'empty' }, '暂无审计记录。')
        : h(
            'table',
            { id: 'audit-table' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['时间', '操作人', '角色', '操作', '涉及人员', '原因'].map((t) => h('th', {}, t)),
              ),
            ),
            h(
              'tbody',
              {},
              rows.map((r) =>
                h(
                  'tr',
                  {},
                  h('td', {}, r.at),
                  h('td', {}, r.actor),
                  h('td', {}, r.role ? lbl('roles', r.role) : '—'),
                  h('td', {}, actions[r.action] || r.action),
                  h('td', { class: 'key' }, r.personKey || '—'),
                  h('td', {}, r.reason || '—'),
                ),
              ),
            ),
          ),
    ),
  );
}

start();
