/** The one error answer of every app: `{error: {code, message, path?}}`, never a stack trace. */
export const sendError = (code: string, message: string, path?: string) => ({ error: { code, message, ...(path ? { path } : {}) } });
