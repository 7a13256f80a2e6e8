// snappyjs ships no types. Raw (block) Snappy, the framing Prometheus remote write uses.
declare module "snappyjs" {
  const snappy: {
    compress(input: Uint8Array): Uint8Array;
    uncompress(input: Uint8Array): Uint8Array;
  };
  export default snappy;
}
