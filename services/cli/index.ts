// The `hub` command. Light: each role is imported (through its component's runtime) only when run.
export { main, usage } from './main';
