import type { Actor } from '../domain/index.js';
import { AppError } from '../errors/index.js';

/** The authenticated actor of a /v1 request (the onRequest hook guarantees it). */
export function actorOf(request: { actor: Actor | undefined }): Actor {
  if (!request.actor) throw new AppError('unauthenticated', 'missing or invalid bearer token');
  return request.actor;
}
