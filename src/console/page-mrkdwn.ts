// The console page's mrkdwn converter (./page/mrkdwn.ts) bundled on its own, the way the page bundles
// it: a classic script that declares mrkdwnNodes, plainNodes, nodesToHtml and mrkdwnToHtml, for running
// in Node's `vm` (the tests). The page itself carries the converter inside its one script (pageScript).
import { pageBundle } from './page-bundle';

export const MRKDWN_JS = pageBundle('mrkdwn');
