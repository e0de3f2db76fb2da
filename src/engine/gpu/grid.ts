/**
 * Dispatch geometry shared by the WGSL kernels: invocations are numbered
 * linearly across a 2-D grid of workgroups (gid.x + gid.y · groups.x · size),
 * because one dimension holds at most 65,535 workgroups.
 */
import { WORKGROUP_SIZE } from '../codegen/wgsl.js';

/** WebGPU's default maxComputeWorkgroupsPerDimension. */
const MAX_GROUPS_PER_DIMENSION = 65_535;

/** The [x, y] workgroup counts covering `invocations` (some of the last workgroup may idle). */
export function dispatchGrid(invocations: number): [number, number] {
  const groups = Math.max(1, Math.ceil(invocations / WORKGROUP_SIZE));
  const x = Math.min(groups, MAX_GROUPS_PER_DIMENSION);
  return [x, Math.ceil(groups / x)];
}

/** Records one compute pass of `pipeline` over `invocations` with one bind group. */
export function encodeDispatch(encoder: GPUCommandEncoder, pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, invocations: number): void {
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(...dispatchGrid(invocations));
  pass.end();
}
