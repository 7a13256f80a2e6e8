import type { ExampleTab } from "../tokens/vocabulary";

/**
 * Ids of the page elements the browser script (client/) finds and fills, written once: the pages
 * (pages.tsx) render them, the script looks them up by these names. Ids only a page refers to
 * itself (a heading named by aria-labelledby, a help text) stay in pages.tsx.
 */
export const ID = {
  // Layout
  signOut: "sign-out",
  alert: "alert",
  alertText: "alert-text",
  alertSignIn: "alert-sign-in",
  status: "status",
  view: "view",
  // Sign in
  login: "login",
  loginForm: "login-form",
  apiKey: "api-key",
  loginError: "login-error",
  // Deployments
  deployments: "deployments",
  deploymentsBody: "deployments-body",
  deploymentsEmpty: "deployments-empty",
  // A deployment's header and overview
  crumbName: "crumb-name",
  deploymentName: "deployment-name",
  deploymentStatus: "deployment-status",
  copyEndpoint: "copy-endpoint",
  endpointUrl: "endpoint-url",
  deploymentDetails: "deployment-details",
  deploymentUsage: "deployment-usage",
  deploymentUsageError: "deployment-usage-error",
  // Access tokens
  tokenCount: "token-count",
  generateOpen: "generate-open",
  tokens: "tokens",
  tokensBody: "tokens-body",
  tokensEmpty: "tokens-empty",
  // Generate dialog
  generateDialog: "generate-dialog",
  generateForm: "generate-form",
  tokenName: "token-name",
  advancedSettings: "advanced-settings",
  tokenTenantGroup: "token-tenant-group",
  tokenTenant: "token-tenant",
  tokenExpiry: "token-expiry",
  tokenNetworks: "token-networks",
  tokenLabels: "token-labels",
  generateError: "generate-error",
  generateSubmit: "generate-submit",
  // Examples dialog
  examplesDialog: "examples-dialog",
  examplesSubtitle: "examples-subtitle",
  examplesShowSecret: "examples-show-secret",
  examplesError: "examples-error",
  examplesNotes: "examples-notes",
  // Rotate dialog
  rotateDialog: "rotate-dialog",
  rotateForm: "rotate-form",
  rotateName: "rotate-name",
  rotateOverlap: "rotate-overlap",
  rotateError: "rotate-error",
  rotateConfirm: "rotate-confirm",
  // Test a URL (explain) dialog
  explainDialog: "explain-dialog",
  explainForm: "explain-form",
  explainSubtitle: "explain-subtitle",
  explainMethod: "explain-method",
  explainPath: "explain-path",
  explainAddress: "explain-address",
  explainError: "explain-error",
  explainResult: "explain-result",
  explainSubmit: "explain-submit",
  // Usage dialog
  usageDialog: "usage-dialog",
  usageSubtitle: "usage-subtitle",
  usageRange: "usage-range",
  usageError: "usage-error",
  usageBody: "usage-body",
  // Delete dialog
  deleteDialog: "delete-dialog",
  deleteName: "delete-name",
  deleteError: "delete-error",
  deleteConfirm: "delete-confirm",
} as const;

/** The Examples dialog's two tabs (EXAMPLE_TABS in src/tokens/words.ts), each a tab button and its panel. */
export const examplesTabId = (tab: ExampleTab) => `examples-tab-${tab}`;
export const examplesPanelId = (tab: ExampleTab) => `examples-panel-${tab}`;
