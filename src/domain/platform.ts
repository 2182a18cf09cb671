/** An OS/architecture/variant triple in Go's vocabulary (GOOS/GOARCH), as image indexes use it. */
export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string | undefined;
}
