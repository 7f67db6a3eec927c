#!/usr/bin/env node
// `npm start`: the main job on a bundled default (filled in as the commands land).
console.log('llmfrag: build complete')
