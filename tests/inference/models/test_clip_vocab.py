from inference.models.clip_vocab import VOCAB_SIZE, clip_tokenizer, write_tokenizer_folder
from inference.models.paths import cache_dir


def test_real_clip_token_ids():
    tokenizer = clip_tokenizer("tokenizer")
    # Ids every CLIP model agrees on: <start> a photo of a cat <end>.
    assert tokenizer("a photo of a cat").input_ids == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert tokenizer.vocab_size == VOCAB_SIZE == 49408  # len() would also count the added trigger word
    assert tokenizer.model_max_length == 77


def test_the_two_sdxl_tokenizers_differ_only_in_padding():
    first, second = clip_tokenizer("tokenizer"), clip_tokenizer("tokenizer_2")
    padded = [t("a cat", padding="max_length", max_length=77).input_ids for t in (first, second)]
    assert padded[0][:4] == padded[1][:4] == [49406, 320, 2368, 49407]
    assert padded[0][4] == 49407 and padded[1][4] == 0  # "<|endoftext|>" vs "!"
    assert len(padded[0]) == len(padded[1]) == 77


def test_lowercases_and_splits_punctuation():
    tokens = clip_tokenizer("tokenizer").tokenize("Corporate Confidence, cinematic")
    assert tokens == ["corporate</w>", "confidence</w>", ",</w>", "cinematic</w>"]


def test_tokenizer_files_are_cached_in_the_checkpoint_layout(tmp_path):
    clip_tokenizer("tokenizer")
    assert (cache_dir() / "clip" / "tokenizer" / "vocab.json").is_file()
    folder = write_tokenizer_folder(tmp_path / "tok", "tokenizer_2")
    assert sorted(p.name for p in folder.iterdir()) == ["merges.txt", "tokenizer_config.json", "vocab.json"]
    assert (folder / "merges.txt").read_text().startswith("#version: 0.2\ni n\n")
