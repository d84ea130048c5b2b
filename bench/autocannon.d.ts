// The part of autocannon's API the gateway benchmark uses (the package ships no types).
declare module 'autocannon' {
  interface Histogram { p50: number; p99: number; average: number }
  interface Result { latency: Histogram; requests: Histogram & { total: number }; non2xx: number; errors: number; timeouts: number; duration: number }
  interface Options { url: string; method?: string; headers?: Record<string, string>; body?: string; connections?: number; duration?: number; timeout?: number }
  function autocannon(options: Options): Promise<Result>;
  export default autocannon;
}
