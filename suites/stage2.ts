// Stage 2: the transmit hook prints "virt_net_send_packet cnt = N" per frame.
import { defineStageSuite } from '../src/stages/suite.ts';
import { commonChecks, remoteNoReply, sendLinesConsecutive } from './common.ts';

export default defineStageSuite(2, commonChecks([remoteNoReply, sendLinesConsecutive]));
