export { tax } from './definition';
