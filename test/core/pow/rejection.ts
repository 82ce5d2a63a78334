import { PowError } from "../../../core/errors.ts";

/** The PowError `promise` rejects with; anything else it throws propagates, and fulfilling fails the test. */
export async function powRejection(promise: Promise<unknown>): Promise<PowError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PowError) return error;
    throw error;
  }
  throw new Error("expected a rejection");
}
