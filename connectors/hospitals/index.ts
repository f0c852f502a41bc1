export { hospitals } from './definition';
