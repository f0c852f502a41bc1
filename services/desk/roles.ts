import type { AgencyCode } from '../../schemas';
/**
 * The desk's roles and what each may do. One table, so the page, the API and the tests agree.
 * Agency viewers see only warnings routed to their agency; clear ID numbers only to bureau staff
 * who state a reason (written to the audit log).
 */
export const roles = {
  ANALYST: { label: '医保局分析员', agency: null, clearId: true, retry: true, markPaid: false, payments: true, audit: false },
  SUPERVISOR: { label: '医保局主管', agency: null, clearId: true, retry: true, markPaid: true, payments: true, audit: false },
  CIVIL_AFFAIRS_VIEWER: {
    label: '民政部门查看员',
    agency: 'CIVIL_AFFAIRS',
    clearId: false,
    retry: false,
    markPaid: false,
    payments: false,
    audit: false,
  },
  RURAL_VIEWER: {
    label: '乡村振兴部门查看员',
    agency: 'RURAL_REVITALIZATION',
    clearId: false,
    retry: false,
    markPaid: false,
    payments: false,
    audit: false,
  },
  AUDITOR: { label: '审计员', agency: null, clearId: false, retry: false, markPaid: false, payments: true, audit: true },
} as const;

export type Role = keyof typeof roles;
export type Permission = 'clearId' | 'retry' | 'markPaid' | 'payments' | 'audit';

export function isRole(value: string): value is Role {
  return Object.hasOwn(roles, value);
}

export function can(role: Role, permission: Permission): boolean {
  return roles[role][permission];
}

/** The agency an agency viewer is limited to; null for bureau roles. */
export function agencyScope(role: Role): AgencyCode | null {
  return roles[role].agency;
}
