import type { EventPayload } from '../common/api.js';
import type { EventBus } from '../core/events.js';

function formatDuration(seconds: number): string {
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${String(Math.round(seconds - m * 60)).padStart(2, '0')}s`;
}

/** Job progress on stderr: one rewritten line on a terminal, a line every few seconds otherwise. */
export function progressPrinter(
  events: EventBus,
  streams: { stderr: (text: string) => void; isTTY: boolean },
): () => void {
  let lastLine = 0;
  let open = false;
  const unsubscribe = events.subscribe((name, payload) => {
    if (name === 'job:progress') {
      const p = payload as EventPayload<'job:progress'>;
      const now = Date.now();
      const finished = p.total !== null && p.done >= p.total;
      if (!streams.isTTY && !finished && now - lastLine < 3000) return;
      lastLine = now;
      const count = p.total !== null ? `${p.done}/${p.total} ${p.unit}` : `${p.done} ${p.unit}`;
      const rate = p.rate !== null ? `, ${p.rate.toFixed(1)} ${p.unit}/s` : '';
      const eta = p.etaSeconds !== null && !finished ? `, ETA ${formatDuration(p.etaSeconds)}` : '';
      const line = `${p.message ? p.message + ': ' : ''}${count}${rate}${eta}`;
      if (streams.isTTY) {
        streams.stderr(`\r\x1b[2K${line}`);
        open = true;
      } else {
        streams.stderr(line + '\n');
      }
    } else if (name === 'job:state' && open) {
      streams.stderr('\n');
      open = false;
    }
  });
  return () => {
    if (open) streams.stderr('\n');
    unsubscribe();
  };
}
