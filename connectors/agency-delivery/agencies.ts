import { agencyCodes, agencyIds, agencyTable, type AgencyCode, type StatusAgencyId } from '../../schemas';
import { HubError, loadConfig, type Environment } from '../../services/platform';

/** How the hub reaches an agency that receives warnings: its webhook, or none (it collects export files). */
export interface AgencyEndpoint {
  readonly agency: AgencyCode;
  /** The agency's connector id, which its API keys name. */
  readonly connector: StatusAgencyId;
  readonly label: string;
  readonly webhook: { readonly url: string; readonly secret: string } | undefined;
}

export const agencyConnector = Object.fromEntries(
  agencyCodes.map((code) => [code, agencyIds.find((id) => agencyTable[id].warningCode === code)]),
) as Readonly<Record<AgencyCode, StatusAgencyId>>;

export const agencyOfConnector = (connector: string): AgencyCode | undefined =>
  (Object.keys(agencyConnector) as AgencyCode[]).find((code) => agencyConnector[code] === connector);

/** The agencies' delivery settings from the validated configuration; a URL without a good secret is refused. */
export function agencyEndpoints(env: Environment): ReadonlyMap<AgencyCode, AgencyEndpoint> {
  const config = loadConfig(env, [
    'civilAffairsWebhookUrl',
    'civilAffairsWebhookSecret',
    'ruralRevitalizationWebhookUrl',
    'ruralRevitalizationWebhookSecret',
  ]);
  const endpoint = (agency: AgencyCode, label: string, url: string, secret: string, secretEnv: string): AgencyEndpoint => {
    if (url !== '' && secret.length < 32) {
      throw new HubError('CONFIG_INVALID', `${secretEnv}: a webhook needs a shared secret of at least 32 characters`, {
        catastrophic: true,
        detail: { key: secretEnv },
      });
    }
    return { agency, connector: agencyConnector[agency], label, webhook: url === '' ? undefined : { url, secret } };
  };
  return new Map([
    [
      'CIVIL_AFFAIRS',
      endpoint(
        'CIVIL_AFFAIRS',
        '民政 civil affairs',
        config.civilAffairsWebhookUrl,
        config.civilAffairsWebhookSecret,
        'HUB_CIVIL_AFFAIRS_WEBHOOK_SECRET',
      ),
    ],
    [
      'RURAL_REVITALIZATION',
      endpoint(
        'RURAL_REVITALIZATION',
        '乡村振兴 rural revitalization',
        config.ruralRevitalizationWebhookUrl,
        config.ruralRevitalizationWebhookSecret,
        'HUB_RURAL_REVITALIZATION_WEBHOOK_SECRET',
      ),
    ],
  ]);
}
