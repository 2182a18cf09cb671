/**
 * The parts of undici the proxy uses, loaded from their own modules rather than undici's
 * index, which also loads fetch, WebSocket, EventSource, the mock and snapshot agents, cache
 * stores and every interceptor — none used here, and together most of undici's start-up cost
 * (bench/README.md, "Start-up").
 *
 * The index is also where undici gives every Dispatcher its `request`/`stream`/`pipeline`
 * methods (`Object.assign(Dispatcher.prototype, api)`); that one line is repeated here, so any
 * dispatcher (this Agent or one a caller injects) has them whether or not the index was loaded.
 */
import { type Agent as UndiciAgent } from 'undici';
import AgentClass from 'undici/lib/dispatcher/agent.js';
import DispatcherClass from 'undici/lib/dispatcher/dispatcher.js';
import api from 'undici/lib/api/index.js';

Object.assign(DispatcherClass.prototype, api);

export const Agent: typeof UndiciAgent = AgentClass;
