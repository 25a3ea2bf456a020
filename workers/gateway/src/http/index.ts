export { corsPolicy } from "./cors";
export { requestContext } from "./request-context";
