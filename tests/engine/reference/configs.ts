// Test helper: small NemotronH config.json objects with every layer kind, for tests that run the
// whole graph. Shapes follow the fixtures' layout at a fraction of the size.

/** All four layer kinds, GQA 4/2, 2 B/C groups, chunk length 3 (so prefills span chunks). */
export const TINY_HYBRID = {
  vocab_size: 32,
  hidden_size: 16,
  hybrid_override_pattern: 'M*E-M',
  mamba_num_heads: 4,
  mamba_head_dim: 4,
  n_groups: 2,
  ssm_state_size: 8,
  conv_kernel: 4,
  chunk_size: 3,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  head_dim: 4,
  n_routed_experts: 8,
  num_experts_per_tok: 2,
  moe_intermediate_size: 8,
  moe_shared_expert_intermediate_size: 12,
  routed_scaling_factor: 2.5,
  norm_topk_prob: true,
  intermediate_size: 20,
  layer_norm_epsilon: 1e-5,
} as const;
