// The `moe` oracle fixture through `edgetron logits --backend webgpu` (see fixture-logits.ts).

import { describeFixtureLogits } from './fixture-logits.js';

describeFixtureLogits(['moe']);
