export interface GatewayVariables {
  requestId: string;
  traceparent: string | undefined;
  /** The logic service a request was routed to, for the log line. */
  service: string;
}

export type GatewayEnv = { Bindings: Env; Variables: GatewayVariables };
