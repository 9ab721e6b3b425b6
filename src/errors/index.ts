export { AppError, appError, isAppError, type ErrorCode } from './app-error.js';
