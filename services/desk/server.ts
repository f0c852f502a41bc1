import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { agencyCodes, type AgencyCode } from '../../schemas';
import { decryptNationalId } from '../identity';
import { HubError, isHubError, type Logger } from '../platform';
import { appendAudit, auditPage, recentFailedLogins } from './audit-log';
import type { DeskPool } from './db';
import { answerCounts, failedDeliveries, retryDelivery } from './delivery-health';
import type { DeliveryRetrier } from './delivery-retrier';
import * as labels from './labels';
import { periodOverview } from './overview';
import { markPaid, owedItems, type OwedFilter } from './payments-owed';
import { personTimeline, sealedIdOf } from './person-timeline';
import { agencyScope, can, roles, type Permission } from './roles';
import { closeSession, findSession, openSession, type SessionUser } from './sessions';
import { checkLogin } from './users';
import { findWarning, listPeriods, warningPage, type WarningFilter, type WarningRow } from './warning-list';
import { buildXlsx, type XlsxColumn } from './xlsx-export';

/**
 * The desk's HTTP face: the page, its assets and the JSON API. Every request but login and the
 * static files needs a session; every POST also needs the session's CSRF token in `x-csrf-token`.
 * Every query string and body is validated by a JSON schema with no extra properties allowed.
 */
export interface DeskServerDeps {
  readonly pool: DeskPool;
  readonly logger: Logger;
  readonly idEncryptionKey: Buffer;
  readonly sessionMinutes: number;
  /** Sets the Secure flag on the session cookie (off only for plain-HTTP local use and tests). */
  readonly secureCookie: boolean;
  readonly retrier?: DeliveryRetrier;
}

const cookieName = 'desk_session';
const publicDir = join(dirname(fileURLToPath(import.meta.url)), 'public');
const echartsFile = createRequire(import.meta.url).resolve('echarts/dist/echarts.min.js');

const httpStatus: Partial<Record<string, number>> = {
  AUTH_REQUIRED: 401,
  FORBIDDEN: 403,
  REQUEST_INVALID: 400,
  INPUT_INVALID: 400,
  UNAVAILABLE: 503,
};
const notFound = (what: string): HubError => new HubError('REQUEST_INVALID', what, { detail: { status: 404 } });

const period = { type: 'string', pattern: '^\\d{4}-(Q[1-4]|\\d{2})$' } as const;
const code = { type: 'string', pattern: '^[A-Z_]{2,40}$' } as const;
const personKey = { type: 'string', pattern: '^[A-Za-z0-9_-]{8,128}$' } as const;
const warningFilterSchema = {
  period,
  policyId: { type: 'string', pattern: '^[a-z0-9-]{2,64}$' },
  category: code,
  agency: { enum: agencyCodes },
  reason: code,
  deliveryStatus: { enum: ['PENDING', 'DELIVERED', 'FAILED', 'ACKNOWLEDGED'] },
  followUpStatus: { enum: ['NONE', 'STARTED', 'CLOSED', 'RECEIVED', 'ASSISTANCE_GIVEN', 'CERTIFIED', 'NO_ACTION'] },
  personKey,
} as const;
const owedFilterSchema = {
  fund: { enum: ['CRITICAL_ILLNESS', 'MEDICAL_ASSISTANCE', 'TAX_BUREAU'] },
  institution: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,40}$' },
  year: { type: 'integer', minimum: 2000, maximum: 2100 },
  state: { enum: ['OWED', 'PAID'] },
} as const;

type Query = Record<string, string | number | undefined>;

function cookieToken(request: FastifyRequest): string | undefined {
  const header = request.headers.cookie ?? '';
  for (const part of header.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === cookieName) return value.join('=');
  }
  return undefined;
}

export async function buildDeskServer(deps: DeskServerDeps): Promise<FastifyInstance> {
  const { pool } = deps;
  const app = Fastify({
    logger: false,
    bodyLimit: 64 * 1024,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
  });
  const sessions = new WeakMap<FastifyRequest, SessionUser>();

  app.addHook('onSend', (_request, reply, payload, done) => {
    // No CDN and no inline script: everything the page runs comes from the desk itself.
    reply.header(
      'content-security-policy',
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
        "frame-ancestors 'none'; form-action 'self'",
    );
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('cache-control', 'no-store');
    done(null, payload);
  });

  app.setErrorHandler((error: unknown, _request, reply) => {
    if (isHubError(error)) {
      const status = typeof error.detail.status === 'number' ? error.detail.status : (httpStatus[error.code] ?? 500);
      void reply.code(status).send({ error: error.code, message: error.message });
      return;
    }
    const validation = (error as { validation?: unknown; message?: string }).validation;
    if (validation !== undefined) {
      void reply.code(400).send({ error: 'REQUEST_INVALID', message: `请求参数不正确：${(error as Error).message}` });
      return;
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      void reply.code(status).send({ error: 'REQUEST_INVALID', message: (error as Error).message });
      return;
    }
    deps.logger.error({ err: error }, 'desk request failed');
    void reply.code(500).send({ error: 'PROCESSING_FAILED', message: '服务器内部错误，请稍后重试；如仍失败请联系系统管理员' });
  });

  /** The session of a request, or AUTH_REQUIRED; a POST also needs its CSRF token; `need` a role's permission. */
  const user = (request: FastifyRequest, need?: Permission): SessionUser => {
    const found = sessions.get(request);
    if (found === undefined) throw new HubError('AUTH_REQUIRED', '请先登录');
    if (need !== undefined && !can(found.role, need)) throw new HubError('FORBIDDEN', '您的角色无权进行此操作');
    return found;
  };
  app.addHook('preHandler', async (request) => {
    // Login opens a session; it is not made with one (its body must be JSON, which a cross-site form cannot send).
    if (request.url === '/api/login') return;
    const token = cookieToken(request);
    if (token === undefined || !/^[A-Za-z0-9_-]{20,100}$/.test(token)) return;
    const session = await findSession(pool, token);
    if (session === null) return;
    if (request.method !== 'GET' && request.method !== 'HEAD' && request.headers['x-csrf-token'] !== session.csrfToken) {
      throw new HubError('FORBIDDEN', '页面已过期（CSRF 校验失败），请刷新页面后重试');
    }
    sessions.set(request, session);
  });

  // ---- page and assets ----
  const sendFile = (file: string, type: string) => async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.type(type).send(await readFile(file));
  app.get('/', sendFile(join(publicDir, 'index.html'), 'text/html; charset=utf-8'));
  app.get('/assets/app.js', sendFile(join(publicDir, 'app.js'), 'text/javascript; charset=utf-8'));
  app.get('/assets/app.css', sendFile(join(publicDir, 'app.css'), 'text/css; charset=utf-8'));
  app.get('/assets/echarts.min.js', sendFile(echartsFile, 'text/javascript; charset=utf-8'));

  // ---- session ----
  app.post(
    '/api/login',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['username', 'password'],
          properties: { username: { type: 'string', maxLength: 64 }, password: { type: 'string', maxLength: 256 } },
        },
      },
    },
    async (request, reply) => {
      const body = request.body as { username: string; password: string };
      // Guessing is slowed per username: after 5 failures in 15 minutes even the right password waits.
      if ((await recentFailedLogins(pool, body.username, loginWindowMinutes)) >= maxFailedLogins) {
        throw new HubError('FORBIDDEN', `登录失败次数过多，请 ${loginWindowMinutes} 分钟后再试，或联系系统管理员`, {
          detail: { status: 429 },
        });
      }
      const account = await checkLogin(pool, body.username, body.password);
      if (account === null) {
        await appendAudit(pool, { actor: body.username, role: null, action: 'LOGIN_FAILED' });
        throw new HubError('AUTH_REQUIRED', '用户名或密码错误，或账号已停用');
      }
      const { token, csrfToken } = await openSession(pool, account.id, deps.sessionMinutes);
      await appendAudit(pool, { actor: account.username, role: account.role, action: 'LOGIN' });
      void reply.header(
        'set-cookie',
        `${cookieName}=${token}; Path=/; HttpOnly; SameSite=Strict; ` +
          `Max-Age=${deps.sessionMinutes * 60}${deps.secureCookie ? '; Secure' : ''}`,
      );
      return {
        username: account.username,
        displayName: account.displayName,
        role: account.role,
        roleLabel: roles[account.role].label,
        csrfToken,
      };
    },
  );
  app.post('/api/logout', async (request, reply) => {
    user(request);
    const token = cookieToken(request);
    if (token !== undefined) await closeSession(pool, token);
    void reply.header('set-cookie', `${cookieName}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`);
    return { ok: true };
  });
  app.get('/api/session', (request) => {
    const u = user(request);
    const r = roles[u.role];
    return {
      username: u.username,
      displayName: u.displayName,
      role: u.role,
      roleLabel: r.label,
      agency: r.agency,
      csrfToken: u.csrfToken,
      may: { clearId: r.clearId, retry: r.retry, markPaid: r.markPaid, payments: r.payments, audit: r.audit },
    };
  });
  app.get('/api/meta', async (request) => {
    user(request);
    return {
      periods: await listPeriods(pool),
      categories: labels.categoryLabels,
      reasons: labels.reasonLabels,
      agencies: labels.agencyLabels,
      delivery: labels.deliveryLabels,
      followUp: labels.followUpLabels,
      outcomes: labels.outcomeLabels,
      retryOutcomes: labels.retryOutcomeLabels,
      warningStates: labels.warningStateLabels,
      regions: labels.regionLabels,
      funds: labels.fundLabels,
      actions: labels.statusActionLabels,
      roles: Object.fromEntries(Object.entries(roles).map(([role, r]) => [role, r.label])),
    };
  });

  // ---- overview ----
  app.get(
    '/api/overview',
    { schema: { querystring: { type: 'object', additionalProperties: false, required: ['period'], properties: { period } } } },
    async (request) => {
      const u = user(request);
      return periodOverview(pool, (request.query as { period: string }).period, agencyScope(u.role));
    },
  );

  // ---- warnings ----
  const scopedFilter = (u: SessionUser, query: Query): WarningFilter => {
    const scope = agencyScope(u.role);
    const asked = query.agency as WarningFilter['agency'];
    // An agency viewer asking for the other agency's warnings gets none rather than its own.
    if (scope !== null && asked !== undefined && asked !== scope) throw new HubError('FORBIDDEN', '您只能查看转给本部门的预警');
    return {
      period: String(query.period),
      policyId: query.policyId as string | undefined,
      category: query.category as string | undefined,
      agency: scope ?? asked,
      reason: query.reason as string | undefined,
      deliveryStatus: query.deliveryStatus as string | undefined,
      followUpStatus: query.followUpStatus as string | undefined,
      personKey: query.personKey as string | undefined,
    };
  };
  app.get(
    '/api/warnings',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['period'],
          properties: {
            ...warningFilterSchema,
            order: { enum: ['desc', 'asc'] },
            limit: { type: 'integer', minimum: 1, maximum: 200 },
            after: { type: 'string', maxLength: 400 },
          },
        },
      },
    },
    async (request) => {
      const u = user(request);
      const query = request.query as Query;
      return warningPage(pool, {
        ...scopedFilter(u, query),
        order: query.order === 'asc' ? 'asc' : 'desc',
        limit: Number(query.limit ?? 50),
        after: query.after as string | undefined,
      });
    },
  );
  app.get(
    '/api/warnings/export.xlsx',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['period'],
          properties: { ...warningFilterSchema, order: { enum: ['desc', 'asc'] } },
        },
      },
    },
    async (request, reply) => {
      const u = user(request);
      const query = request.query as Query;
      const filter = scopedFilter(u, query);
      const rows: WarningRow[] = [];
      let after: string | undefined;
      // Keyset pages of 1,000 up to the export's cap: a larger list is split by a narrower filter.
      while (rows.length < exportCap) {
        const page = await warningPage(pool, { ...filter, order: query.order === 'asc' ? 'asc' : 'desc', limit: 1000, after });
        rows.push(...page.rows);
        if (page.next === null) break;
        after = page.next;
      }
      await appendAudit(pool, {
        actor: u.username,
        role: u.role,
        action: 'EXPORT',
        detail: { list: 'warnings', filter, rows: rows.length },
      });
      return sendXlsx(reply, `预警清单-${filter.period}.xlsx`, await buildXlsx('预警清单', warningColumns, rows.slice(0, exportCap)));
    },
  );
  app.get(
    '/api/warnings/:warningId',
    { schema: { params: { type: 'object', properties: { warningId: { type: 'string', maxLength: 200 } } } } },
    async (request) => {
      const u = user(request);
      const found = await findWarning(pool, (request.params as { warningId: string }).warningId, agencyScope(u.role));
      if (found === null) throw notFound('没有这条预警，或它未转给您的部门');
      return found;
    },
  );

  // ---- person ----
  app.get('/api/people/:personKey/timeline', { schema: { params: { type: 'object', properties: { personKey } } } }, async (request) => {
    const u = user(request);
    const timeline = await personTimeline(pool, (request.params as { personKey: string }).personKey, agencyScope(u.role));
    if (timeline === null) throw notFound('没有此人的记录，或此人没有转给您部门的预警');
    return timeline;
  });
  app.post(
    '/api/people/:personKey/clear-id',
    {
      schema: {
        params: { type: 'object', properties: { personKey } },
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['reason'],
          properties: { reason: { type: 'string', minLength: 4, maxLength: 500 } },
        },
      },
    },
    async (request) => {
      const u = user(request, 'clearId');
      const key = (request.params as { personKey: string }).personKey;
      const reason = (request.body as { reason: string }).reason.trim();
      if (reason.length < 4) throw new HubError('REQUEST_INVALID', '请填写查看原因（至少 4 个字）');
      const sealed = await sealedIdOf(pool, key, agencyScope(u.role));
      if (sealed === null) throw notFound('没有此人的预警记录');
      // The audit entry is written before the number is opened: no entry, no number.
      await appendAudit(pool, { actor: u.username, role: u.role, action: 'VIEW_CLEAR_ID', personKey: key, reason });
      return { personKey: key, idNumber: decryptNationalId(sealed, deps.idEncryptionKey, key) };
    },
  );

  // ---- deliveries ----
  app.get('/api/deliveries/failed', async (request) => {
    const u = user(request);
    const scope = agencyScope(u.role);
    return { rows: await failedDeliveries(pool, scope, 500), answers: await answerCounts(pool, scope) };
  });
  app.post(
    '/api/deliveries/retry',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['warningId', 'agency'],
          properties: { warningId: { type: 'string', maxLength: 200 }, agency: { enum: agencyCodes } },
        },
      },
    },
    async (request) => {
      const u = user(request, 'retry');
      const body = request.body as { warningId: string; agency: AgencyCode };
      if (deps.retrier === undefined) throw new HubError('UNAVAILABLE', '本预警台未连接送达队列，无法重试');
      const outcome = await retryDelivery(pool, u, body.warningId, body.agency, deps.retrier);
      if (outcome === null) throw notFound('这条送达不是失败状态，无需重试');
      // The outcome is in the audit log either way; the page tells the user what happened.
      if (outcome === 'NOT_DEAD')
        throw new HubError('REQUEST_INVALID', '这条送达仍在自动重试中，无需手工重试', { detail: { status: 409, outcome } });
      if (outcome === 'NOT_FOUND')
        throw new HubError('REQUEST_INVALID', '送达队列中没有这条送达（可能已清理），请联系运维', { detail: { status: 409, outcome } });
      return { ok: true, outcome };
    },
  );

  // ---- payments owed ----
  const owedQuery = { type: 'object', additionalProperties: false, properties: owedFilterSchema } as const;
  app.get('/api/payments', { schema: { querystring: owedQuery } }, async (request) => {
    user(request, 'payments');
    return { rows: await owedItems(pool, request.query as OwedFilter, 1000) };
  });
  app.get('/api/payments/export.xlsx', { schema: { querystring: owedQuery } }, async (request, reply) => {
    const u = user(request, 'payments');
    const filter = request.query as OwedFilter;
    const rows = await owedItems(pool, filter, exportCap);
    await appendAudit(pool, { actor: u.username, role: u.role, action: 'EXPORT', detail: { list: 'payments', filter, rows: rows.length } });
    const payer = filter.fund === undefined ? '全部' : labels.label(labels.fundLabels, filter.fund);
    return sendXlsx(reply, `应付清单-${payer}.xlsx`, await buildXlsx('应付清单', owedColumns, rows));
  });
  app.post(
    '/api/payments/mark-paid',
    {
      schema: {
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['items', 'paidOn'],
          properties: {
            paidOn: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' },
            items: {
              type: 'array',
              minItems: 1,
              maxItems: 500,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['itemKind', 'itemId', 'fund'],
                properties: {
                  itemKind: { enum: ['ADJUSTMENT', 'SUBSIDY'] },
                  itemId: { type: 'string', maxLength: 200 },
                  fund: owedFilterSchema.fund,
                },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const u = user(request, 'markPaid');
      const body = request.body as { items: { itemKind: string; itemId: string; fund: string }[]; paidOn: string };
      if (Number.isNaN(Date.parse(`${body.paidOn}T00:00:00Z`))) throw new HubError('REQUEST_INVALID', '付款日期不正确');
      return { marked: await markPaid(pool, u, body.items, body.paidOn) };
    },
  );

  // ---- audit ----
  app.get(
    '/api/audit',
    { schema: { querystring: { type: 'object', additionalProperties: false, properties: { before: { type: 'integer', minimum: 1 } } } } },
    async (request) => {
      user(request, 'audit');
      return { rows: await auditPage(pool, (request.query as { before?: number }).before, 200) };
    },
  );

  return app;
}

const maxFailedLogins = 5;
const loginWindowMinutes = 15;

/** Most rows in one XLSX export. */
export const exportCap = 100_000;

function sendXlsx(reply: FastifyReply, filename: string, body: Buffer): FastifyReply {
  return reply
    .type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
    .header('content-disposition', `attachment; filename="export.xlsx"; filename*=UTF-8''${encodeURIComponent(filename)}`)
    .send(body);
}

const warningColumns: readonly XlsxColumn<WarningRow>[] = [
  { header: '预警编号', width: 28, value: (r) => r.warningId },
  { header: '人员标识', width: 24, value: (r) => r.personKey },
  { header: '地区', width: 12, value: (r) => labels.label(labels.regionLabels, r.policyId) },
  { header: '预警期', width: 10, value: (r) => r.period },
  { header: '统计起日', width: 12, value: (r) => r.windowFrom },
  { header: '统计止日', width: 12, value: (r) => r.windowTo },
  { header: '身份类别', width: 20, value: (r) => r.categories.map((c) => labels.label(labels.categoryLabels, c)).join('、') },
  { header: '预警原因', width: 20, value: (r) => r.reasons.map((c) => labels.label(labels.reasonLabels, c)).join('、') },
  { header: '个人自付（元）', width: 16, money: true, value: (r) => r.selfPayFen },
  { header: '预警阈值（元）', width: 16, money: true, value: (r) => r.thresholdFen },
  { header: '医疗总费用（元）', width: 16, money: true, value: (r) => r.medfeeFen },
  { header: '基本医保（元）', width: 16, money: true, value: (r) => r.basicFen },
  { header: '大病保险（元）', width: 16, money: true, value: (r) => r.criticalIllnessFen },
  { header: '医疗救助（元）', width: 16, money: true, value: (r) => r.assistanceFen },
  { header: '转送部门', width: 20, value: (r) => r.routedTo.map((a) => labels.label(labels.agencyLabels, a)).join('、') },
  { header: '送达状态', width: 12, value: (r) => labels.label(labels.deliveryLabels, r.deliveryStatus) },
  { header: '跟进状态', width: 10, value: (r) => labels.label(labels.followUpLabels, r.followUpStatus) },
  {
    header: '部门处理结果',
    width: 30,
    value: (r) => r.outcomes.map((o) => `${labels.label(labels.agencyLabels, o.agency)}：${labels.describeOutcome(o)}`).join('；'),
  },
];

const owedColumns: readonly XlsxColumn<Awaited<ReturnType<typeof owedItems>>[number]>[] = [
  { header: '付款方', width: 22, value: (r) => labels.label(labels.fundLabels, r.fund) },
  { header: '事项类型', width: 12, value: (r) => (r.itemKind === 'ADJUSTMENT' ? '补支付' : '参保资助更正') },
  { header: '结算/缴费记录号', width: 26, value: (r) => r.itemId },
  { header: '人员标识', width: 24, value: (r) => r.personKey },
  { header: '地区', width: 12, value: (r) => labels.label(labels.regionLabels, r.policyId) },
  { header: '年度', width: 8, value: (r) => r.year },
  { header: '定点医药机构', width: 16, value: (r) => r.institution || '—' },
  { header: '应付金额（元）', width: 16, money: true, value: (r) => r.amountFen },
  { header: '原因', width: 40, value: (r) => r.reason },
  { header: '状态', width: 8, value: (r) => (r.paid ? '已支付' : '待支付') },
  { header: '支付日期', width: 12, value: (r) => r.paidOn ?? '' },
];
