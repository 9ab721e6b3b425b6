/** Branded ids: a raw string cannot stand in for the wrong kind of id. */
declare const brand: unique symbol;
export type Brand<T, B extends string> = T & { readonly [brand]: B };

export type GrantId = Brand<string, 'GrantId'>;
export type AccountId = Brand<string, 'AccountId'>;
export type TargetId = Brand<string, 'TargetId'>;
export type PolicyId = Brand<string, 'PolicyId'>;
export type UserId = Brand<string, 'UserId'>;
export type JobId = Brand<string, 'JobId'>;
export type TokenId = Brand<string, 'TokenId'>;

export const asGrantId = (s: string) => s as GrantId;
export const asAccountId = (s: string) => s as AccountId;
export const asTargetId = (s: string) => s as TargetId;
export const asPolicyId = (s: string) => s as PolicyId;
export const asUserId = (s: string) => s as UserId;
export const asJobId = (s: string) => s as JobId;
export const asTokenId = (s: string) => s as TokenId;
