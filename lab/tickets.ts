// The ticket-routing demo data (docs/metric-learning.md), written by the project itself: short
// IT-support tickets, each labelled with the team that should take it. Each ticket is one team
// phrase (the signal), wrapped in openers and closers shared by all teams (the noise), chosen by a
// seeded generator, so the same seed gives the same tickets on every machine.

import { Prng } from '../engine/decode/prng.js';

/** The teams a ticket can be routed to; a ticket's label is its index here. */
export const TICKET_TEAMS = ['network', 'accounts', 'hardware', 'software'] as const;

/** What each team's tickets are about, one phrase per line of trouble. */
const TEAM_PHRASES: Readonly<Record<(typeof TICKET_TEAMS)[number], readonly string[]>> = {
  network: [
    'the wifi keeps dropping in the meeting room',
    'vpn will not connect from home',
    'no internet on the third floor',
    'the network is very slow today',
    'cannot reach the file server over the vpn',
    'ethernet port at my desk is dead',
    'wifi says connected but no internet',
    'dns errors when opening the intranet',
    'the office router keeps rebooting',
    'packet loss on every video call',
    'cannot ping the print server',
    'guest wifi password does not work',
  ],
  accounts: [
    'i forgot my password and am locked out',
    'please reset my password',
    'my account is locked after too many attempts',
    'new hire needs an email account',
    'i need access to the finance shared folder',
    'two factor code never arrives',
    'please remove access for a leaver',
    'cannot log in to my account since the password change',
    'add me to the sales distribution list',
    'my login expired, please unlock it',
    'need admin rights on the project drive',
    'single sign on rejects my password',
  ],
  hardware: [
    'my laptop screen is cracked',
    'the printer is jammed again',
    'keyboard keys are sticking',
    'laptop battery drains in an hour',
    'second monitor shows no signal',
    'the mouse stopped working',
    'laptop will not power on',
    'the docking station does not charge my laptop',
    'printer prints blank pages',
    'headset microphone is broken',
    'need a replacement charger for my laptop',
    'the desk phone has no dial tone',
  ],
  software: [
    'excel crashes when i open the budget file',
    'outlook will not start after the update',
    'please install the latest version of the design app',
    'the accounting program shows an error on save',
    'my browser keeps freezing',
    'teams app crashes during calls',
    'need a license for the pdf editor',
    'word document will not open, says it is corrupt',
    'the update failed and the app will not launch',
    'calendar sync is broken in outlook',
    'the antivirus blocks our internal app',
    'the crm app is stuck loading',
  ],
};

const OPENERS = ['', 'hi, ', 'hello team, ', 'urgent: ', 'good morning, ', 'quick one: ', 'help, ', 'hey, '];
const CLOSERS = ['', '.', ', thanks', ', please help', ' since this morning', ', can someone look?', ' again', ', it is blocking my work'];

/** One labelled ticket. */
export interface Ticket {
  readonly text: string;
  readonly team: number; // index into TICKET_TEAMS
}

/**
 * `perTeam` tickets for each team, interleaved by team, from `seed`. Phrases are drawn
 * without replacement within a call while they last, so a small set covers distinct troubles.
 * @example
 * const train = tickets(0, 8); // 32 tickets
 * TICKET_TEAMS[train[0].team]; // 'network'
 */
export function tickets(seed: number, perTeam: number, phraseOffset = 0): Ticket[] {
  const rng = new Prng(seed, 'tickets');
  const pick = <T>(list: readonly T[]) => list[rng.nextU32() % list.length];
  const out: Ticket[] = [];
  for (let i = 0; i < perTeam; i++) {
    TICKET_TEAMS.forEach((team, t) => {
      const phrases = TEAM_PHRASES[team];
      const phrase = phrases[(phraseOffset + i) % phrases.length];
      out.push({ text: `${pick(OPENERS)}${phrase}${pick(CLOSERS)}`, team: t });
    });
  }
  return out;
}

/**
 * The demo's train and held-out sets: every trouble once in each, the held-out tickets in
 * fresh openers and closers (another seed), so routing must key on the trouble, not the wrapper.
 * @example
 * const { train, test } = ticketSplit(); // 48 train, 48 held out
 */
export function ticketSplit(seed = 0, perTeam = 12): { train: Ticket[]; test: Ticket[] } {
  return { train: tickets(seed, perTeam), test: tickets(seed + 1, perTeam) };
}
