// The few declarations of @azure/msal-node and @aws-sdk/client-sesv2 that the examples use, so
// that they compile here: this package depends on neither. In your project, install the package
// (`npm install @azure/msal-node`, `npm install @aws-sdk/client-sesv2`) and its own types apply.
declare module '@azure/msal-node' {
  export interface Configuration {
    auth: { clientId: string; authority?: string; clientSecret?: string };
  }
  export interface ClientCredentialRequest {
    scopes: string[];
    /** Ask Microsoft Entra ID for a new token instead of taking the cached one. */
    skipCache?: boolean;
  }
  export interface AuthenticationResult {
    accessToken: string;
    expiresOn: Date | null;
  }
  export class ConfidentialClientApplication {
    constructor(configuration: Configuration);
    acquireTokenByClientCredential(request: ClientCredentialRequest): Promise<AuthenticationResult | null>;
  }
}

declare module '@aws-sdk/client-sesv2' {
  export class SESv2Client {
    constructor(configuration: { region?: string });
    send(command: unknown): Promise<unknown>;
  }
  export class SendEmailCommand {
    constructor(input: unknown);
  }
}
