// The transport host bundled for workerd: the Workers transport, in the Workers runtime.
import { createFetchTransport } from "../../src/adapters/workers/transport.ts";
import { createTransportHost } from "./host-app.ts";

const app = createTransportHost(createFetchTransport({ afterResponse: async () => undefined }));

export default { fetch: app.fetch };
