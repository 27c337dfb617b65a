import { createHash } from 'node:crypto';
import { canonicalJson } from '../../common/canonical-json.js';
import type { Precision } from '../checkpoints/accumulator.js';
import type { FamilyGraph, Ingredient } from '../checkpoints/index.js';
import { WeightAccumulator, familyGraph } from '../checkpoints/index.js';
import type { ModelIdentity } from '../store/evaluation-store.js';
import { sha256Parts } from '../workers/pool.js';
import type { EvalModel } from '../inference/evaluator.js';
import type { OpenedFamily } from '../checkpoints/open-family.js';

export type IdentifiedModel = EvalModel & { identity: ModelIdentity };

/**
 * Turns ingredients and weight sums into models the inference host can run. The family graph is
 * serialised once; every soup is the same graph bytes with another weight buffer.
 */
export class SoupModels {
  private constructor(
    readonly sweep: OpenedFamily,
    readonly graph: FamilyGraph,
    readonly graphKey: string,
  ) {}

  static async create(sweep: OpenedFamily): Promise<SoupModels> {
    const graph = await familyGraph(sweep.family);
    const graphKey = createHash('sha256').update(graph.graphBytes).digest('hex');
    return new SoupModels(sweep, graph, graphKey);
  }

  /** A zeroed accumulator over the family graph's weights (float32 unless float64 is asked for). */
  accumulator(precision?: Precision): WeightAccumulator {
    return precision
      ? new WeightAccumulator(this.graph.weightLayout, { precision })
      : new WeightAccumulator(this.graph.weightLayout);
  }

  /**
   * An ingredient as a model. An ONNX file is its own model (its content hash). A state dict is only a
   * model together with the graph it is bound to and the names it was matched by: its hash covers the
   * family graph, the prefix stripped and the file's content, so the same weights under another graph never
   * share cached logits.
   */
  async ingredientModel(ingredient: Ingredient, signal?: AbortSignal): Promise<IdentifiedModel> {
    const fileHash = await ingredient.sha256(signal);
    const hash =
      ingredient.format === 'onnx'
        ? fileHash
        : createHash('sha256')
            .update(
              canonicalJson({
                scheme: 'tureen/bound-state-dict@1',
                graph: this.graphKey,
                prefix: ingredient.strippedPrefix ?? '',
                weights: fileHash,
              }),
            )
            .digest('hex');
    const label = this.sweep.relative(ingredient.path);
    const identity: ModelIdentity = { hash, label, path: ingredient.path, kind: 'ingredient' };
    if (ingredient.format === 'onnx') {
      return {
        hash,
        label,
        path: ingredient.path,
        identity,
        source: () => ({ kind: 'file', path: ingredient.path }),
      };
    }
    return {
      hash,
      label,
      path: ingredient.path,
      identity,
      source: async () => {
        const acc = this.accumulator();
        await acc.addScaled(ingredient, 1, signal ? { signal } : {});
        return this.bufferSource(await acc.toBufferShared(1));
      },
    };
  }

  private bufferSource(weights: Uint8Array) {
    return {
      kind: 'buffer' as const,
      graphKey: this.graphKey,
      graphBytes: this.graph.graphBytes,
      externalDataPath: this.graph.externalDataPath,
      weights,
    };
  }

  /** The weights `scale · sum` as a model; its hash covers the graph and the exact float32 weights. */
  soupModel(
    sum: WeightAccumulator,
    scale: number,
    label: string,
  ): { model: IdentifiedModel; weights: Buffer } {
    const weights = sum.toBuffer(scale);
    const hash = createHash('sha256').update(this.graphKey).update(weights).digest('hex');
    const identity: ModelIdentity = { hash, label, path: null, kind: 'soup' };
    return {
      model: { hash, label, path: null, identity, source: () => this.bufferSource(weights) },
      weights,
    };
  }

  /**
   * soupModel with the conversion and the hash on worker threads: the same bytes and hash, while the
   * thread serving the UI only waits (a model's worth of both, per greedy step or learned candidate).
   */
  async soupModelShared(
    sum: WeightAccumulator,
    scale: number,
    label: string,
  ): Promise<{ model: IdentifiedModel; weights: Buffer }> {
    const weights = await sum.toBufferShared(scale);
    const hash = await sha256Parts([this.graphKey, weights]);
    const identity: ModelIdentity = { hash, label, path: null, kind: 'soup' };
    return {
      model: { hash, label, path: null, identity, source: () => this.bufferSource(weights) },
      weights,
    };
  }
}
