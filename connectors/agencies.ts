import type { AgencyDefinition, AgencyId } from './intake';
import { civilAffairs } from './civil-affairs';
import { hospitals } from './hospitals';
import { ruralRevitalization } from './rural-revitalization';
import { tax } from './tax';

export { civilAffairs, hospitals, ruralRevitalization, tax };

/** The four connectors, by agency id (schemas' agencyTable names the agencies and their topics). */
export const agencies: Readonly<Record<AgencyId, AgencyDefinition>> = {
  'civil-affairs': civilAffairs,
  'rural-revitalization': ruralRevitalization,
  hospitals,
  tax,
};
