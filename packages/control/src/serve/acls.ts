/**
 * GET /api/v1/acls: every ACL stage with its rules' hits and its unmatched packets, read from
 * the stats segment's snapshot (`pipelines[].acls`, as `fastpath stats` and the dashboard show
 * them), for an engine of this process and an attached one alike. Serving its own engine, the
 * server also knows the running config, so each stage carries its default and rules file and
 * each rule what it matches; attached, those are null (the segment holds counters, not rules).
 * Stages and rules a later config dropped stay, with the counters they had (`running: false`).
 */
import { aclRuleSchema, ControlErrorCode, type AclRuleConfig, type AclStageConfig, type EngineConfig, type EngineStats } from '@fastpath/types';
import { z } from 'zod';

import type { Api } from './app.js';
import { errorResponses, HttpError } from './errors.js';

const rule = z.object({
  name: z.string().describe("as the segment counts it: its own, `rule<i>` unnamed, `line<N>` from a rules file"),
  hits: z.number().describe('packets it was the first match of (the stats segment)'),
  spec: aclRuleSchema.nullable().describe('the rule as the running config writes it; null attached, for a rules file\'s lines, and for a rule the running config no longer has'),
});

const acl = z.object({
  pipeline: z.string(),
  name: z.string().describe("the stage's name (`stage<i>` unnamed: its index in the pipeline)"),
  unmatched: z.number().describe('packets no rule matched, which took the default (the stats segment)'),
  running: z.boolean().nullable().describe('whether the running config has this stage (false: a later config dropped it; its counters stay); null attached'),
  default: z.enum(['pass', 'drop']).nullable().describe('what unmatched packets get; null when the config is not known (attached) or the stage is gone'),
  rulesFile: z.string().nullable().describe('the l3fwd-format file its rules come from, if any (its rules are `line<N>`)'),
  rules: z.array(rule).describe('in the order the segment has them: the order they are checked'),
});

/** One ACL stage as the API answers it. */
export type AclAnswer = z.output<typeof acl>;

/** The running config's ACL stages by `pipeline\0stage`, named as the engine names them. */
function configured(config: EngineConfig): Map<string, AclStageConfig> {
  const stages = new Map<string, AclStageConfig>();
  config.pipelines.forEach((p, i) => {
    (p.stages ?? []).forEach((stage, s) => {
      if (typeof stage !== 'string' && stage.kind === 'acl') stages.set(`${p.name ?? `pipeline${i}`}\0${stage.name ?? `stage${s}`}`, stage);
    });
  });
  return stages;
}

/**
 * Every ACL stage of `stats`, its counters from the segment; with the running `config` (an
 * engine of this process), what each stage and rule is.
 */
export function aclsOf(stats: EngineStats, config: EngineConfig | undefined): AclAnswer[] {
  const known = config === undefined ? undefined : configured(config);
  return stats.pipelines.flatMap((p) =>
    p.acls.map((a) => {
      const stage = known?.get(`${p.name}\0${a.name}`);
      const specs = new Map<string, AclRuleConfig>((stage?.rules ?? []).map((r, i) => [r.name ?? `rule${i}`, r]));
      return {
        pipeline: p.name,
        name: a.name,
        unmatched: a.unmatched,
        running: known === undefined ? null : stage !== undefined,
        default: stage === undefined ? null : (stage.default ?? 'pass'),
        rulesFile: stage?.rulesFile ?? null,
        rules: a.aclRules.map((r) => ({ name: r.name, hits: r.hits, spec: specs.get(r.name) ?? null })),
      };
    }),
  );
}

/** The stage `pipeline/stage` or `stage` names; 404 (none) or 400 (several) saying which there are. */
function pick(all: AclAnswer[], stage: string, pipeline?: string): AclAnswer {
  const found = all.filter((a) => a.name === stage && (pipeline === undefined || a.pipeline === pipeline));
  const named = pipeline === undefined ? JSON.stringify(stage) : JSON.stringify(`${pipeline}/${stage}`);
  const list = all.map((a) => `${a.pipeline}/${a.name}`).join(', ') || 'none';
  if (found.length === 0) throw new HttpError(404, ControlErrorCode.Request, `${named} is not an ACL stage (ACL stages: ${list}); GET /api/v1/acls lists them`);
  if (found.length > 1) throw new HttpError(400, ControlErrorCode.Request, `${named} names ACL stages of several pipelines (${found.map((a) => `${a.pipeline}/${a.name}`).join(', ')}): ask for /api/v1/acls/PIPELINE/${stage}`);
  return found[0]!;
}

/** The ACL routes: /acls, /acls/{stage}, /acls/{pipeline}/{stage}. */
export function aclRoutes(app: Api): void {
  const all = () => aclsOf(app.source.stats(), app.source.engine?.config);
  app.get(
    '/acls',
    {
      schema: {
        summary: "Every ACL stage: each rule's hits and the unmatched packets (the stats segment); rules and default too when serving its own engine",
        querystring: z.object({ pipeline: z.string().optional().describe("only this pipeline's stages") }).strict(),
        response: { 200: z.array(acl), ...errorResponses },
      },
    },
    async (request) => {
      const { pipeline } = request.query;
      return all().filter((a) => pipeline === undefined || a.pipeline === pipeline);
    },
  );
  app.get(
    '/acls/:stage',
    {
      schema: {
        summary: 'One ACL stage by its name (unique across pipelines; else ask for /acls/{pipeline}/{stage})',
        params: z.object({ stage: z.string() }),
        querystring: z.object({}).strict(),
        response: { 200: acl, ...errorResponses },
      },
    },
    async (request) => pick(all(), request.params.stage),
  );
  app.get(
    '/acls/:pipeline/:stage',
    {
      schema: {
        summary: 'One ACL stage of one pipeline',
        params: z.object({ pipeline: z.string(), stage: z.string() }),
        querystring: z.object({}).strict(),
        response: { 200: acl, ...errorResponses },
      },
    },
    async (request) => pick(all(), request.params.stage, request.params.pipeline),
  );
}
