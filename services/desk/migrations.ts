import type { DeskPool } from './db';
import { inTransaction } from './db';

/**
 * The read model's schema, as numbered steps applied in order at start-up. A step is never edited
 * once merged: a change is a new step. An advisory lock keeps two desks starting together from
 * applying a step twice.
 */
const steps: readonly { readonly id: number; readonly name: string; readonly sql: string }[] = [
  {
    id: 1,
    name: 'read model, offsets, users, sessions, audit log',
    sql: `
create table desk_meta (key text primary key, value text not null);
-- The read model's identity: the consumer group is named after it, so a dropped and recreated
-- database reads every topic again from the beginning under a new group.
insert into desk_meta (key, value) values ('read_model_id', md5(random()::text || clock_timestamp()::text));

-- Next offset to apply per topic partition, written in the same transaction as the rows it covers.
create table consumer_offsets (topic text not null, partition int not null, next_offset bigint not null, primary key (topic, partition));

create table warnings (
  warning_id text primary key,
  person_key text not null,
  id_cipher text not null,
  policy_id text not null,
  period text not null,
  window_from date not null,
  window_to date not null,
  categories text[] not null,
  category text not null,
  reasons text[] not null,
  basis text not null,
  self_pay_fen bigint not null,
  threshold_fen bigint not null,
  medfee_fen bigint not null,
  basic_fen bigint not null,
  critical_illness_fen bigint not null,
  assistance_fen bigint not null,
  routed_civil boolean not null,
  routed_rural boolean not null,
  delivery_status text not null default 'PENDING',
  follow_up_status text not null default 'NONE',
  occurred_at timestamptz not null,
  recorded_at timestamptz not null
);
-- Keyset pages: every list is ordered by (self_pay_fen desc, warning_id desc) within a period.
create index warnings_page on warnings (period, self_pay_fen desc, warning_id desc);
create index warnings_page_policy on warnings (period, policy_id, self_pay_fen desc, warning_id desc);
create index warnings_page_civil on warnings (period, self_pay_fen desc, warning_id desc) where routed_civil;
create index warnings_page_rural on warnings (period, self_pay_fen desc, warning_id desc) where routed_rural;
create index warnings_page_delivery on warnings (period, delivery_status, self_pay_fen desc, warning_id desc);
create index warnings_person on warnings (person_key, period);

-- Every receipt as it arrived (the history), and the latest per warning and agency (the state).
create table receipts (
  event_id text primary key,
  warning_id text not null,
  agency text not null,
  channel text not null,
  status text not null,
  attempt int not null,
  detail text,
  occurred_at timestamptz not null
);
create index receipts_warning on receipts (warning_id, occurred_at);
create table deliveries (
  warning_id text not null,
  agency text not null,
  channel text not null,
  delivery_status text not null,
  follow_up_status text not null default 'NONE',
  attempt int not null,
  detail text,
  updated_at timestamptz not null,
  primary key (warning_id, agency)
);
create index deliveries_failed on deliveries (updated_at desc) where delivery_status = 'FAILED';

create table adjustments (
  setl_id text primary key,
  event_id text not null,
  person_key text not null,
  policy_id text not null,
  benefit_year int not null,
  fixmedins_code text not null,
  settled_critical_illness_fen bigint not null,
  settled_assistance_fen bigint not null,
  due_critical_illness_fen bigint not null,
  due_assistance_fen bigint not null,
  delta_fen bigint not null,
  kind text not null,
  category_applied text,
  reason text not null,
  recorded_at timestamptz not null
);
create index adjustments_person on adjustments (person_key);
create index adjustments_owed on adjustments (benefit_year, fixmedins_code) where kind = 'SUPPLEMENTARY_PAYMENT';

create table subsidy_corrections (
  contribution_record_id text primary key,
  event_id text not null,
  person_key text not null,
  policy_id text not null,
  insurance_year int not null,
  category text not null,
  entitled_subsidy_fen bigint not null,
  received_subsidy_fen bigint not null,
  delta_fen bigint not null,
  kind text not null,
  reason text not null,
  recorded_at timestamptz not null
);
create index subsidy_corrections_person on subsidy_corrections (person_key);

create table self_pay (
  person_key text not null,
  benefit_year int not null,
  policy_id text not null,
  settlement_count int not null,
  medfee_fen bigint not null,
  self_pay_total_fen bigint not null,
  self_pay_in_scope_fen bigint not null,
  recorded_at timestamptz not null,
  primary key (person_key, benefit_year)
);

create table status_changes (
  event_id text primary key,
  person_key text not null,
  agency text not null,
  admdvs text not null,
  category text not null,
  action text not null,
  valid_from date not null,
  valid_to date,
  source_record_id text not null,
  source_version int not null,
  occurred_at timestamptz not null
);
create index status_changes_person on status_changes (person_key, valid_from);

create table settlements (
  setl_id text primary key,
  person_key text not null,
  fixmedins_code text not null,
  insu_admdvs text not null,
  med_type text not null,
  setl_time timestamptz not null,
  medfee_fen bigint not null,
  basic_fen bigint not null,
  critical_illness_fen bigint not null,
  assistance_fen bigint not null,
  self_pay_fen bigint not null,
  is_reversal boolean not null,
  orig_setl_id text
);
create index settlements_person on settlements (person_key, setl_time);

-- What the desk itself decides (not on a topic): payments marked paid and retry requests.
create table payments_marked (
  item_kind text not null,
  item_id text not null,
  fund text not null,
  paid_on date not null,
  marked_by text not null,
  marked_at timestamptz not null default now(),
  primary key (item_kind, item_id, fund)
);
create table delivery_retries (
  id bigserial primary key,
  warning_id text not null,
  agency text not null,
  requested_by text not null,
  requested_at timestamptz not null default now(),
  state text not null default 'REQUESTED'
);

create table users (
  id serial primary key,
  username text not null unique,
  display_name text not null,
  role text not null,
  password_hash text not null,
  disabled boolean not null default false,
  created_at timestamptz not null default now()
);
create table sessions (
  token_hash text primary key,
  user_id int not null references users (id),
  csrf_token text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index sessions_expiry on sessions (expires_at);

-- Append-only: no UPDATE, DELETE or TRUNCATE, whoever connects (the app and a psql session alike).
create table audit_log (
  id bigserial primary key,
  at timestamptz not null default now(),
  actor text not null,
  role text not null,
  action text not null,
  person_key text,
  warning_id text,
  reason text,
  detail jsonb not null default '{}'::jsonb
);
create function audit_log_refuse_change() returns trigger language plpgsql as $$
begin
  raise exception 'audit_log is append-only' using errcode = 'insufficient_privilege';
end $$;
create trigger audit_log_no_update before update or delete on audit_log for each row execute function audit_log_refuse_change();
create trigger audit_log_no_truncate before truncate on audit_log for each statement execute function audit_log_refuse_change();
`,
  },
  {
    id: 2,
    name: 'list index for region and delivery status together',
    // "Which region's warnings did not arrive" is the delivery desk's everyday question; with both
    // in the key a page reads only its region's failed rows instead of filtering a period's (the
    // benchmark's four-filter page: p50 20 ms, p99 85 ms on warnings_page_delivery alone).
    sql: 'create index warnings_page_policy_delivery on warnings (period, policy_id, delivery_status, self_pay_fen desc, warning_id desc)',
  },
  {
    id: 3,
    name: 'failed logins: no role for an unknown user, an index to count them',
    // A failed login may name no account at all; recording a made-up role would mislead the auditor.
    sql: `alter table audit_log alter column role drop not null;
          create index audit_log_failed_logins on audit_log (actor, at) where action = 'LOGIN_FAILED';`,
  },
  {
    id: 4,
    name: 'corrections, withdrawals, settlements of a warning; receipt outcomes; retry outcomes',
    // superseded_by is derived (whichever record names this one in supersedes), kept by both sides so
    // that a correction read before the warning it replaces gives the same row. Only rows with
    // superseded_by null and warned true are the latest word on a person-period.
    sql: `alter table warnings add column settlements jsonb not null default '[]'::jsonb,
            add column warned boolean not null default true,
            add column supersedes text,
            add column superseded_by text,
            add column changes text[] not null default '{}';
          create index warnings_supersedes on warnings (supersedes) where supersedes is not null;
          create index warnings_current_page on warnings (period, self_pay_fen desc, warning_id desc) where superseded_by is null and
            warned;
          alter table receipts add column outcome text, add column assistance_kind text, add column assistance_fen bigint,
            add column certified_category text, add column reason text, add column agency_record_id text;
          alter table deliveries add column outcome text, add column assistance_kind text, add column assistance_fen bigint,
            add column certified_category text, add column outcome_reason text, add column agency_record_id text;
          create index deliveries_outcome on deliveries (outcome, warning_id) where outcome is not null;
          alter table delivery_retries add column outcome text, add column decided_at timestamptz;`,
  },
];

/** Applies the steps not yet applied; returns how many it applied. */
export async function migrate(pool: DeskPool): Promise<number> {
  return inTransaction(pool, async (client) => {
    // Transaction-scoped: released at commit or rollback.
    await client.query('select pg_advisory_xact_lock(7301301)');
    await client.query(
      'create table if not exists desk_migrations (id int primary key, name text not null, applied_at timestamptz not null default now())',
    );
    const done = new Set((await client.query<{ id: number }>('select id from desk_migrations')).rows.map((r) => r.id));
    let applied = 0;
    for (const step of steps) {
      if (done.has(step.id)) continue;
      await client.query(step.sql);
      await client.query('insert into desk_migrations (id, name) values ($1, $2)', [step.id, step.name]);
      applied += 1;
    }
    return applied;
  });
}
