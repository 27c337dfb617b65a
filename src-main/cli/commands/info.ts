import type { Command } from '../command.js';

export const infoCommand: Command = {
  name: 'info',
  summary: 'version, database path, execution providers',
  help: 'Usage: tureen info [--json]\n\nPrints the version, the shared database, the data folder and which ONNX Runtime\nexecution providers are available and which one would be used.',
  options: {},
  async run(_args, ctx) {
    const kitchen = ctx.kitchen();
    const info = await kitchen.call('app:info', {});
    const kitchens = await kitchen.call('kitchens:list', {});
    const providers = info.executionProviders
      .map((p) => `  ${p.available ? '✓' : '✗'} ${p.name}${p.reason ? ` — ${p.reason}` : ''}`)
      .join('\n');
    const human = [
      `Tureen ${info.version} (${info.platform}, Node ${info.versions.node}, onnxruntime ${info.versions.onnxruntime}, SQLite ${info.versions.sqlite})`,
      `database:  ${info.databasePath}`,
      `data:      ${info.dataDir}`,
      `kitchens:  ${kitchens.kitchens.length ? kitchens.kitchens.map((k) => k.path).join(', ') : 'none registered'}`,
      `execution providers (would use ${info.chosenProvider}):`,
      providers,
    ].join('\n');
    const { name: _name, transport: _transport, capabilities: _capabilities, ...rest } = info;
    return { json: { schema: 'tureen/info@1', ...rest, kitchens: kitchens.kitchens }, human };
  },
};
