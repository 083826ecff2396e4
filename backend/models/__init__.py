"""Models: specs, loading, the embedded pair, compressed variants, the app's resident model cache, sentence encoder, NLI."""
