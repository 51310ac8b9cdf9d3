// The floor in JavaScript: bench/floor.py's OpenTofu commands and S3 calls, step by step and
// with the same concurrency (the race begun with step 2b and awaited after OpenTofu), written
// as a plain Node.js harness would write them (AWS SDK for JavaScript v3, one client per
// endpoint, no checks, no guard, no evidence). It stands in for the JavaScript harness the
// CPU target is measured against.
//
// Usage: node bench/js-floor/floor.mjs PLAN_JSON   (written by bench/floor.py --plan; the
// credentials come from the variables the plan names; like floor.py, it needs the scratch
// bucket a proof run creates, which the benchmark's first, uncounted round does)
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as S3 from "@aws-sdk/client-s3";
import { NodeHttpHandler } from "@smithy/node-http-handler";

const RACE_KEYS = 5, RACE_WRITERS = 8, INDEX_OBJECTS = 5;
const READ_KEYS_PER_WRITER = 8, READ_KEYS_IN_ALL = 16;

const plan = JSON.parse(readFileSync(process.argv[2], "utf8"));
const run = `${plan.run_prefix}${randomBytes(4).toString("hex")}/`;
const credentials = {
  accessKeyId: process.env[plan.access_key_env],
  secretAccessKey: process.env[plan.secret_key_env],
};
const caBundle = process.env.AWS_CA_BUNDLE;
const agent = new Agent({
  keepAlive: true,
  maxSockets: 64,
  ...(caBundle ? { ca: readFileSync(caBundle) } : {}),
});

const clients = plan.endpoints.map(
  (endpoint) =>
    new S3.S3Client({
      endpoint,
      region: plan.region,
      credentials,
      forcePathStyle: true,
      maxAttempts: 3,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      requestHandler: new NodeHttpHandler({ httpsAgent: agent }),
    }),
);
const primary = clients[0];
const send = (s3, name, input) => s3.send(new S3[`${name}Command`](input));
const hex = (n) => randomBytes(n).toString("hex");

async function status(promise) {
  try {
    await promise;
    return 200;
  } catch (error) {
    if (error.$metadata?.httpStatusCode) return error.$metadata.httpStatusCode;
    throw error; // no answer at all: floor.py lets only an S3 error answer pass
  }
}

const head = (s3, bucket, key) =>
  status(key ? send(s3, "HeadObject", { Bucket: bucket, Key: key })
             : send(s3, "HeadBucket", { Bucket: bucket }));

const get = async (s3, bucket, key) =>
  (await send(s3, "GetObject", { Bucket: bucket, Key: key })).Body.transformToByteArray();

async function read(s3, bucket, key) {
  try {
    return await get(s3, bucket, key);
  } catch (error) {
    if (error.$metadata?.httpStatusCode) return null; // an S3 error answer, as floor.py's read
    throw error; // no answer at all: a floor that fails part-way would flatter nobody
  }
}

async function boundary() {
  for (const s3 of clients) {
    await send(s3, "ListBuckets", {});
    for (const [bucket, key] of plan.protected) await head(s3, bucket, key);
  }
}

async function scratch(bucket) {
  for (const s3 of clients) {
    await head(s3, bucket);
    await send(s3, "GetBucketVersioning", { Bucket: bucket });
  }
  let key = `${run}object-cycle/${hex(16)}`;
  await send(primary, "PutObject", { Bucket: bucket, Key: key, Body: randomBytes(65536) });
  await send(primary, "HeadObject", { Bucket: bucket, Key: key });
  await read(primary, bucket, key);
  await send(primary, "DeleteObject", { Bucket: bucket, Key: key });
  for (const s3 of clients) await head(s3, bucket, key);
  key = `${run}conditional/${hex(16)}`;
  for (const body of ["first", "second"]) {
    await status(send(primary, "PutObject", { Bucket: bucket, Key: key, Body: body, IfNoneMatch: "*" }));
  }
  const underway = race(bucket);
  await read(primary, bucket, key);
  await readAfterWrite(bucket);
  return { underway }; // wrapped: an async function's caller would wait for a bare promise
}

async function race(bucket) {
  const one = async (key) => {
    await Promise.all(
      Array.from({ length: RACE_WRITERS }, (_, index) =>
        status(send(clients[index % clients.length], "PutObject", {
          Bucket: bucket, Key: key, Body: randomBytes(256), IfNoneMatch: "*",
        })),
      ),
    );
    for (const s3 of clients) await read(s3, bucket, key);
  };
  const keys = Array.from({ length: RACE_KEYS }, (_, n) => `${run}race/${n}-${hex(4)}`);
  await Promise.all(keys.map(one));
}

async function readAfterWrite(bucket) {
  const count = Math.max(Math.min(READ_KEYS_PER_WRITER * clients.length, READ_KEYS_IN_ALL), clients.length);
  const keys = Array.from({ length: count }, () => `${run}read-after-write/${hex(16)}`);
  const one = async (index) => {
    for (let k = index; k < keys.length; k += clients.length) {
      for (let kind = 0; kind < 2; kind++) {
        await send(clients[index], "PutObject", { Bucket: bucket, Key: keys[k], Body: randomBytes(64) });
        await Promise.all(clients.map((s3) => get(s3, bucket, keys[k])));
      }
    }
  };
  await Promise.all(clients.map((_, index) => one(index)));
}

async function bucketIndex(bucket, probe) {
  await send(primary, "ListBuckets", {});
  await send(primary, "GetBucketAcl", { Bucket: bucket });
  const prefix = `${run}index/${hex(4)}/`;
  for (let i = 0; i < INDEX_OBJECTS; i++) {
    await send(primary, "PutObject", { Bucket: bucket, Key: `${prefix}${String(i).padStart(2, "0")}`, Body: "x" });
  }
  for (const s3 of clients) {
    await head(s3, bucket);
    await send(s3, "ListObjectsV2", { Bucket: bucket, Prefix: prefix });
    await send(s3, "ListBuckets", {});
  }
  await send(primary, "CreateBucket", { Bucket: probe });
  for (const s3 of clients) await head(s3, probe);
  const object = `${run}lifecycle/object`;
  await send(primary, "PutObject", { Bucket: probe, Key: object, Body: randomBytes(2048) });
  for (const s3 of clients) await read(s3, probe, object);
  await empty(primary, probe, "");
  await send(primary, "DeleteBucket", { Bucket: probe });
  for (const s3 of clients) await head(s3, probe);
}

async function empty(s3, bucket, prefix) {
  const listing = await send(s3, "ListObjectVersions", { Bucket: bucket, Prefix: prefix });
  const doomed = [...(listing.Versions ?? []), ...(listing.DeleteMarkers ?? [])].map(
    (v) => ({ Key: v.Key, VersionId: v.VersionId }),
  );
  if (doomed.length) {
    await send(s3, "DeleteObjects", { Bucket: bucket, Delete: { Objects: doomed, Quiet: true } });
  }
}

function terraform(binary, folder, env, args, expect = 0) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, [...args, "-no-color"], { cwd: folder, env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk) => { stderr += chunk; });
    child.on("error", reject);
    child.on("close", (code) => {
      // a floor that fails part-way would flatter nobody
      if (code === expect) resolve();
      else reject(new Error(`${binary} ${args.join(" ")} exited ${code}: ${stderr.slice(-300)}`));
    });
  });
}

async function tofu(bucket) {
  const primary = clients[Math.max(plan.endpoints.indexOf(plan.endpoint_url), 0)];
  const key = `${run}tofu/terraform.tfstate`;
  const folder = mkdtempSync(join(tmpdir(), "floor-js-tofu-"));
  try {
    const backend = { ...plan.backend, bucket, key, region: plan.region,
                      endpoints: { s3: plan.endpoint_url }, use_lockfile: true };
    writeFileSync(join(folder, "main.tf.json"), JSON.stringify({
      terraform: { backend: { s3: backend } },
      variable: { nonce: { type: "string" } },
      resource: { terraform_data: { proof: { input: "${var.nonce}" } } },
      output: { nonce: { value: "${terraform_data.proof.output}" } },
    }));
    const env = {
      PATH: process.env.PATH, HOME: folder, TF_IN_AUTOMATION: "1",
      TF_DATA_DIR: join(folder, ".data"), AWS_CA_BUNDLE: caBundle ?? "",
      AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    };
    const tf = (args, { nonce, expect } = {}) => {
      if (nonce !== undefined) writeFileSync(join(folder, "terraform.tfvars.json"), JSON.stringify({ nonce }));
      return terraform(plan.tofu_binary, folder, env, args, expect);
    };
    const first = hex(8), second = hex(8);
    await tf(["init", "-input=false"]);
    await tf(["apply", "-auto-approve", "-input=false"], { nonce: first });
    const { VersionId } = await send(primary, "HeadObject", { Bucket: bucket, Key: key });
    await tf(["output", "-json"]);
    await tf(["plan", "-detailed-exitcode", "-input=false"]);
    const lock = `${key}.tflock`;
    await send(primary, "PutObject", { Bucket: bucket, Key: lock, Body: "{}", IfNoneMatch: "*" });
    await tf(["plan", "-detailed-exitcode", "-lock-timeout=0s", "-input=false"], { expect: 1 });
    await send(primary, "DeleteObject", { Bucket: bucket, Key: lock });
    await tf(["apply", "-auto-approve", "-input=false"], { nonce: second });
    await read(primary, bucket, key);
    await send(primary, "CopyObject", {
      Bucket: bucket, Key: key,
      CopySource: `${bucket}/${encodeURIComponent(key)}?versionId=${encodeURIComponent(VersionId)}`,
    });
    await tf(["output", "-json"]);
    await tf(["plan", "-detailed-exitcode", "-input=false"], { nonce: first });
    await tf(["plan", "-detailed-exitcode", "-input=false"], { nonce: second, expect: 2 });
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

async function main() {
  const bucket = plan.bucket;
  await boundary();
  const { underway } = await scratch(bucket);
  await bucketIndex(bucket, `${bucket}-probe-${hex(4)}`);
  await tofu(bucket);
  await underway;
  for (const s3 of clients) await empty(s3, bucket, run);
  agent.destroy();
}

main().catch((error) => {
  console.error(`js floor: ${error.message ?? error}`);
  process.exit(1);
});
