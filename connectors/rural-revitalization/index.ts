export { ruralRevitalization } from './definition';
