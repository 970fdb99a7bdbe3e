// Preload for upstream servers under test: every listen() binds 127.0.0.1, whatever host the
// server asked for (server-everything's app.listen(PORT) would bind every interface).
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function loopbackListen(...args) {
  if (typeof args[0] === "number" || typeof args[0] === "string") {
    const port = args[0];
    const callback = args.find((a) => typeof a === "function");
    return listen.call(this, { port: Number(port), host: "127.0.0.1" }, callback);
  }
  if (args[0] && typeof args[0] === "object" && "port" in args[0]) args[0] = { ...args[0], host: "127.0.0.1" };
  return listen.apply(this, args);
};
