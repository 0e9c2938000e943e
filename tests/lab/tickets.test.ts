import { describe, expect, it } from 'vitest';
import { ticketSplit, tickets } from '../../lab/tickets.js';

describe('tickets', () => {
  it('interleaves the teams, perTeam each, and is the same for the same seed', () => {
    const t = tickets(3, 5);
    expect(t).toHaveLength(20);
    expect(t.slice(0, 8).map((x) => x.team)).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
    expect(tickets(3, 5)).toEqual(t);
    expect(tickets(4, 5)).not.toEqual(t);
  });

  it('the demo split: 48 + 48, the same troubles in both, wrapped differently', () => {
    const { train, test } = ticketSplit();
    expect([train.length, test.length]).toEqual([48, 48]);
    expect(new Set(train.map((t) => t.text)).size).toBe(48);
    // the i-th ticket of each set names the same trouble for the same team
    const trouble = (text: string) => text.replace(/^(hi|hello team|urgent|good morning|quick one|help|hey)[:,] /, '').replace(/(\.|, thanks|, please help| since this morning|, can someone look\?| again|, it is blocking my work)$/, '');
    train.forEach((t, i) => {
      expect(test[i].team).toBe(t.team);
      expect(trouble(test[i].text)).toBe(trouble(t.text));
    });
    expect(test.filter((t, i) => t.text !== train[i].text).length).toBeGreaterThan(30);
  });
});
