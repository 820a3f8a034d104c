// Loads a pool with Xen Orchestra's xen-api client: connect, fetch every object, watch events.
import { Xapi } from 'xen-api'

const [url, user, password, expectJson, vmName] = process.argv.slice(2)
const expect = JSON.parse(expectJson)
const fail = (msg) => { console.log('FAIL ' + msg); process.exit(1) }
const timer = setTimeout(() => fail('timed out'), 60000)
const xapi = new Xapi({ url, auth: { user, password }, allowUnauthorized: true, watchEvents: true })
xapi.on('eventFetchingError', e => console.log('event fetching error: ' + (e?.code ?? e)))
await xapi.connect()
console.log('ok connected, status ' + xapi.status)
await xapi.objectsFetched
const all = Object.values(xapi.objects.all)
const count = t => all.filter(o => o.$type === t).length
for (const [type, n] of Object.entries(expect)) {
  if (count(type) !== n) fail(`${type}: ${count(type)} objects, the simulator has ${n}`)
  console.log(`ok ${type}: ${n} objects`)
}
const vm = all.find(o => o.$type === 'VM' && o.name_label === vmName && !o.is_a_snapshot)
if (!vm) fail('no VM ' + vmName)
// a change made through the API arrives through the event loop
const seen = new Promise(resolve => xapi.objects.on('add', objs => {
  for (const o of Object.values(objs)) if (o.$type === 'VM' && o.name_label === 'xo-client-check') resolve(o)
}))
const ref = await xapi.call('VM.snapshot', vm.$ref, 'xo-client-check')
const snap = await seen
if (snap.$ref !== ref || snap.is_a_snapshot !== true) fail('event: wrong snapshot record')
console.log('ok event: the snapshot arrived through event.from')
clearTimeout(timer)
await xapi.disconnect()
console.log('ok disconnected')
process.exit(0)
