import { Hono } from "hono";
import { adminApp } from "./admin";
import { consoleApp } from "./console";
import { handleDataRequest } from "./data/data-plane";
import { toErrorResponse } from "./errors";

export { LocationLimiter } from "./limiter/location-limiter";
export { TokenLimiter } from "./limiter/token-limiter";

const app = new Hono<{ Bindings: Env }>();

app.onError((err, c) => toErrorResponse(err, c.req.header("cf-ray") ?? undefined));

// Management plane: mounted below. Everything else is the data plane.
app.route("/admin", adminApp);
app.route("/console", consoleApp);
app.all("*", handleDataRequest);

export default app;
