/** The people the demo identity provider can sign in: one per console role, each in its own IdP group. */
export const DEMO_STAFF = [
  {
    role: 'admin',
    name: 'Ada Admin',
    email: 'ada.admin@staff.demo.example',
    group: 'demo-admins',
    can: 'changes tiers, the license and keys; reads everything, the audit trail included',
  },
  {
    role: 'finance',
    name: 'Fin Finance',
    email: 'fin.finance@staff.demo.example',
    group: 'demo-finance',
    can: 'reads the billing and seat-usage reports, the forecast and the license',
  },
  {
    role: 'analyst',
    name: 'Avi Analyst',
    email: 'avi.analyst@staff.demo.example',
    group: 'demo-analysts',
    can: 'reads the tenants and the license',
  },
] as const;

export type DemoStaffRole = (typeof DEMO_STAFF)[number]['role'];

/** SAML_ROLE_MAP for the demo identity provider's groups. */
export const DEMO_ROLE_MAP: Record<string, DemoStaffRole> = Object.fromEntries(DEMO_STAFF.map((person) => [person.group, person.role]));
