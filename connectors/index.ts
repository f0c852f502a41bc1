// The four concrete agencies' connectors, by agency id.
export { agencies, civilAffairs, hospitals, ruralRevitalization, tax } from './agencies';
