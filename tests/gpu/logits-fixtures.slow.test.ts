// The `dense` and `latent` oracle fixtures through `edgetron logits --backend webgpu`
// (see fixture-logits.ts).

import { describeFixtureLogits } from './fixture-logits.js';

describeFixtureLogits(['dense', 'latent']);
