#!/usr/bin/env node
// Drive Fonolo's official Node.js SDK (vendored, unmodified) through a script of steps.
//
//   node tests/sdk/drive_node.js --endpoint http://127.0.0.1:8080/3.0 \
//       --sid AC0123456789abcdef0123456789abcdef --token <64 hex> \
//       --script '[["profiles"], ["callback", {"fc_number": "...", "fc_option": "CO..."}], ["status", "$last.data.sid"]]'
//
// Prints one JSON object per step on stdout, like drive_python.py:
//   {"step": 0, "call": [...], "ok": true, "result": <what the SDK's promise resolved to>}
//   {"step": 1, "call": [...], "ok": false, "error": {"type": "string", "message": "..."}}
// The node SDK rejects with the bare head.message string when head.status != 200 (type "string"),
// with request's Error on a transport failure, and throws a TypeError out of request's callback
// (an uncaught exception: caught here and reported as the step's error) when the body is not a
// JSON object with a head. The step vocabulary is in docs/fonolo-api.md, "Drivers"; "$N.a.b" and
// "$last.a.b" refer to earlier results. Needs `request`: run tests/sdk/install.sh first.
// Exit status 0 when every step ran, 2 on a bad command line or script.
'use strict';

const path = require('path');
const fs = require('fs');

function usage(msg) {
    process.stderr.write('drive_node: ' + msg + '\n' +
        'usage: node drive_node.js --endpoint URL --sid SID --token TOKEN ' +
        '(--script JSON | --script-file FILE|-) [--raw-endpoint] [--no-verify-ssl]\n');
    process.exit(2);
}

function parseArgs(argv) {
    const a = { rawEndpoint: false, verifySSL: true };
    for (let i = 0; i < argv.length; i++) {
        const k = argv[i];
        const val = () => { if (i + 1 >= argv.length) usage('missing value for ' + k); return argv[++i]; };
        if (k === '--endpoint') a.endpoint = val();
        else if (k === '--sid') a.sid = val();
        else if (k === '--token') a.token = val();
        else if (k === '--script') a.script = val();
        else if (k === '--script-file') a.scriptFile = val();
        else if (k === '--raw-endpoint') a.rawEndpoint = true;
        else if (k === '--no-verify-ssl') a.verifySSL = false;
        else usage('unknown argument ' + k);
    }
    if (a.endpoint === undefined || a.sid === undefined || a.token === undefined) usage('--endpoint, --sid and --token are required');
    if ((a.script === undefined) === (a.scriptFile === undefined)) usage('give exactly one of --script, --script-file');
    return a;
}

function resolve(value, results) {
    if (Array.isArray(value)) return value.map(v => resolve(v, results));
    if (value !== null && typeof value === 'object') {
        const o = {};
        for (const k of Object.keys(value)) o[k] = resolve(value[k], results);
        return o;
    }
    if (typeof value !== 'string' || value.length < 2 || value[0] !== '$') return value;
    const rest = value.slice(1);
    const dot = rest.indexOf('.');
    const head = dot < 0 ? rest : rest.slice(0, dot);
    const p = dot < 0 ? '' : rest.slice(dot + 1);
    let index;
    if (head === 'last') index = results.length - 1;
    else if (/^\d+$/.test(head)) index = Number(head);
    else return value;
    if (index < 0 || index >= results.length) throw new Error(value + ': no result for step ' + head);
    let node = results[index];
    for (const part of p.split('.').filter(Boolean)) {
        if (node !== null && typeof node === 'object' && Object.prototype.hasOwnProperty.call(node, part)) node = node[part];
        else throw new Error(value + ': no field ' + JSON.stringify(part));
    }
    return node;
}

function describe(err) {
    if (err instanceof Error) return { type: err.constructor.name, message: err.message, code: err.code };
    if (typeof err === 'string') return { type: 'string', message: err };
    return { type: typeof err, message: JSON.stringify(err) };
}

const fonolo = require(path.join(__dirname, 'vendor', 'fonolo-node', 'lib', 'index.js'));

function makeClient(endpoint, sid, token, verifySSL) {
    const client = fonolo(sid, token);   // throws a string if sid or token is empty (lib/Client.js:31-34)
    client.endpoint(endpoint);
    client.verifySSL(verifySSL);
    return client;
}

function runStep(state, name, args) {
    const c = state.client;
    if (name === 'client') {
        // A refused pair leaves no client: the steps after it fail until the next "client".
        state.client = null;
        state.client = makeClient(state.endpoint, args[0], args[1], state.verifySSL);
        return null;
    }
    if (!c) throw new Error('no client: the SDK refused the last credentials given');
    switch (name) {
        case 'profiles': return c.profiles.get(args[0]);
        case 'profile': return c.profile(args[0]).get();
        case 'options': return c.profile(args[0]).options.get();
        case 'option': return c.profile(args[0]).option(args[1]).get();
        case 'schedule': return c.profile(args[0]).option(args[1]).schedule.get();
        case 'scheduling': return c.profile(args[0]).scheduling.get();
        case 'questions': return c.profile(args[0]).questions.get();
        case 'question': return c.profile(args[0]).question(args[1]).get();
        case 'callback': return c.callback().start(args[0] || {});
        case 'status': return c.callback(args[0]).status();
        case 'cancel': return c.callback(args[0]).cancel();
        case 'call': return c.call(args[0]).get();
        case 'calls': return c.calls.get(args[0]);
        case 'optin': return c.optin(args[0]).get();
        case 'optins': return c.optins.get(args[0]);
        case 'realtime': return c.realtime.get(args[0]);
        case 'pending': return c.pending.get(args[0]);
        case 'scheduled': return c.scheduled.get(args[0]);
        case 'timezones': return c.timezones.get(args[0]);
        default: throw new Error('unknown step ' + JSON.stringify(name));
    }
}

// An exception thrown inside request's callback (the SDK reads _body.head.status unguarded)
// escapes every promise: it ends the current step instead of the process.
let failCurrent = null;
process.on('uncaughtException', err => {
    if (failCurrent) failCurrent(err);
    else { process.stderr.write('drive_node: ' + (err && err.stack || err) + '\n'); process.exit(1); }
});

async function main() {
    const a = parseArgs(process.argv.slice(2));
    let steps;
    try {
        const text = a.script !== undefined ? a.script
            : fs.readFileSync(a.scriptFile === '-' ? 0 : a.scriptFile, 'utf8');
        steps = JSON.parse(text);
        if (!Array.isArray(steps) || !steps.every(s => Array.isArray(s) && s.length && typeof s[0] === 'string'))
            throw new Error('the script must be a JSON list of non-empty lists starting with a step name');
    } catch (e) {
        usage('bad script: ' + e.message);
    }
    const endpoint = a.rawEndpoint || a.endpoint.endsWith('/') ? a.endpoint : a.endpoint + '/';
    const state = { endpoint, verifySSL: a.verifySSL, client: null };
    const out = rec => process.stdout.write(JSON.stringify(rec) + '\n');
    try {
        state.client = makeClient(endpoint, a.sid, a.token, a.verifySSL);
    } catch (e) {
        out({ step: -1, call: ['client', a.sid, a.token], ok: false, error: describe(e) });
    }
    const results = [];
    for (let i = 0; i < steps.length; i++) {
        const rec = { step: i, call: steps[i] };
        try {
            const name = steps[i][0];
            const args = resolve(steps[i].slice(1), results);
            rec.call = [name, ...args];
            const result = await new Promise((res, rej) => {
                failCurrent = rej;
                Promise.resolve().then(() => runStep(state, name, args)).then(res, rej);
            });
            rec.ok = true;
            rec.result = result === undefined ? null : result;
        } catch (e) {
            rec.ok = false;
            rec.error = describe(e);
        } finally {
            failCurrent = null;
        }
        results.push(rec.result);
        out(rec);
    }
}

main().then(() => process.exit(0), e => { process.stderr.write('drive_node: ' + (e && e.stack || e) + '\n'); process.exit(1); });
