// Stage 3: tx_packets/tx_bytes counted, MAC 08:89:89:89:89:11.
import { check, need } from '../src/stages/checks.ts';
import { ARP_FRAME_BYTES, EXPECTED_MAC } from '../src/stages/plan.ts';
import { defineStageSuite } from '../src/stages/suite.ts';
import { cntValues, commonChecks, counters, deltas, present, remoteNoReply, sendLinesConsecutive } from './common.ts';

const macAddress = check('mac-address', `vnet0 has MAC ${EXPECTED_MAC}`, ['insmod'], (obs, c) => {
  c.equal(present(obs.loaded, 'the reading after insmod').address, EXPECTED_MAC, 'MAC set by the driver');
});

const txCounters = check('tx-counters', `tx_packets = number of cnt lines, tx_bytes = ${ARP_FRAME_BYTES} per frame (ARP requests)`, ['ping-remote'], (obs, c) => {
  const lines = cntValues(need(obs.remoteDmesg, 'the kernel log of ping 3.3.3.4')).length;
  const d = counters(deltas(need(obs.remotePing, 'ping 3.3.3.4')), ['tx_packets', 'tx_bytes']);
  c.equal(d, { tx_packets: lines, tx_bytes: lines * ARP_FRAME_BYTES }, `${lines} frames transmitted during ping 3.3.3.4`);
});

export default defineStageSuite(3, commonChecks([macAddress, remoteNoReply, sendLinesConsecutive, txCounters]));
