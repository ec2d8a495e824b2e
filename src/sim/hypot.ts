/** The simulation's hypot lives in src/math/hypot.ts (one implementation); this re-export keeps older imports (tests/simGolden.test.ts) working. */
export { hypot2, hypot3 } from "../math/hypot.js";
