export { civilAffairs } from './definition';
