/**
 * PostgreSQL `application_name` of a serving instance's store connections: a root key rotation
 * counts them to refuse while any instance, on any machine, is still connected.
 */
export const storeApplicationName = 'breakglass-store';
