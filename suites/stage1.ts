// Stage 1: vnet0 registered with alloc_netdev + ether_setup; transmit drops.
import { check, need } from '../src/stages/checks.ts';
import { defineStageSuite } from '../src/stages/suite.ts';
import { commonChecks, counters, deltas, remoteNoReply } from './common.ts';

const framesDropped = check('frames-dropped', 'frames sent to 3.3.3.4 are counted as dropped, none as sent', ['ping-remote'], (obs, c) => {
  const d = counters(deltas(need(obs.remotePing, 'ping 3.3.3.4')), ['tx_dropped', 'tx_packets']);
  c.holds(d, 'tx_dropped >= 1, tx_packets = 0', (d.tx_dropped ?? 0) >= 1 && d.tx_packets === 0, 'stage 1 drops every frame');
});

export default defineStageSuite(1, commonChecks([remoteNoReply, framesDropped]));
